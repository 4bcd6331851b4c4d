"""Our flows and transitions against retentioneering 5.2.4 on its own ``ecom`` dataset.

    python bench/retentioneering_equal.py [--rt-python PATH] [--max-steps 8] [--workdir DIR]

Run it with the app's python. The retentioneering side runs in the peer venv's python
(``--rt-python``, else $RETENTIONEERING_PYTHON, else /tmp/rtvenv/bin/python; see
bench/README.md) as a child process of this same file: it exports the bundled dataset
(``retentioneering.datasets.load_ecom(as_dataframe=True)``, 31,106 events of 600 users,
30 of them exact repeats of an earlier row) as CSV, builds the dataset's own Eventstream
(``load_ecom()``: a path is a ``user_id``) and computes ``step_sankey_data(max_steps)``
and ``transition_graph_data`` with ``edge_weight="count"`` and ``"unique_paths"``. Our
side is the command line on that CSV: ``flows --max-steps N --top 0`` and
``transitions``, both with ``--keep-duplicates`` (retentioneering keeps every row) and
``--map customer_id=user_id --map touchpoint=event --map timestamp=timestamp``.

What is compared, row for row (retentioneering has no links, only a step matrix):

- customers at each node and step 1..N: ours from the links
  (:func:`journeylib.flows.step_nodes`), theirs the matrix's share times the paths;
- journeys ended before each step 1..N: ours the ``(end)`` links of earlier steps summed,
  theirs the matrix's ``path_end`` row (cumulative by construction);
- transitions, count and distinct customers, for every pair of two real events; their
  ``path_start -> first event`` and ``last event -> path_end`` cells are not transitions
  in our model (DESIGN.md) and are left out, and counted in the output.

Every difference is printed; the exit status is 0 when all three are equal, 1 when not,
2 when a side could not run. This file imports only the standard library at the top
because its retentioneering child runs under the peer venv's interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_RT_PYTHON = "/tmp/rtvenv/bin/python"
MAPPING = ("customer_id=user_id", "touchpoint=event", "timestamp=timestamp")
PATH_START, PATH_END = "path_start", "path_end"


def rt_python(given: str | None = None) -> Path | None:
    """The peer venv's interpreter: the one given, $RETENTIONEERING_PYTHON or the default, if it exists."""
    for candidate in (given, os.environ.get("RETENTIONEERING_PYTHON"), DEFAULT_RT_PYTHON):
        if candidate and Path(candidate).exists():
            return Path(candidate)
    return None


# ----------------------------------------------------------------------------------------
# The retentioneering child (peer venv)


def child_rt(out: Path, max_steps: int) -> None:
    """Export ecom as CSV; write its step matrix in customers and its transitions in long form."""
    os.environ["RETENTIONEERING_NO_TRACK"] = "1"  # before the import: no analytics calls
    import pandas as pd
    import retentioneering
    from retentioneering.datasets import load_ecom

    load_ecom(as_dataframe=True).to_csv(out / "ecom.csv", index=False)
    stream = load_ecom()
    total = int(stream.df[stream.schema.path_col].nunique())
    sm = stream.step_sankey_data(max_steps=max_steps)
    # Shares of paths back to paths: share * total is within rounding of a whole number.
    counts = (sm * total).round().astype("int64")
    counts.index.name = "node"
    counts.to_csv(out / "rt_step_matrix.csv")

    def long(matrix: pd.DataFrame, name: str) -> pd.DataFrame:
        m = matrix.copy()
        m.index.name, m.columns.name = "source", "target"
        return m.stack().rename(name).reset_index()

    count = long(stream.transition_graph_data(edge_weight="count"), "transitions")
    paths = long(stream.transition_graph_data(edge_weight="unique_paths"), "customers")
    pairs = count.merge(paths, on=["source", "target"], how="outer").fillna(0)
    pairs = pairs[pairs["transitions"] > 0].astype({"transitions": "int64", "customers": "int64"})
    pairs.to_csv(out / "rt_transitions.csv", index=False)
    info = {"paths": total, "path_col": stream.schema.path_col, "events": int(len(stream.df)),
            "versions": {"retentioneering": retentioneering.__version__, "pandas": pd.__version__}}
    (out / "rt.json").write_text(json.dumps(info, indent=1))


# ----------------------------------------------------------------------------------------
# Our side and the comparison (app python)


def run_ours(csv: Path, out: Path, max_steps: int) -> None:
    """The command line's flows and transitions on the exported CSV."""
    inputs = ["--touchpoints", str(csv), "--keep-duplicates"] + [a for m in MAPPING for a in ("--map", m)]
    commands = {
        "flows": ["flows", *inputs, "--max-steps", str(max_steps), "--top", "0"],
        "transitions": ["transitions", *inputs],
    }
    for name, args in commands.items():
        done = subprocess.run([sys.executable, "-m", "journeylib", *args, "--out", str(out / f"ours_{name}.csv")],
                              cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"our {name} failed ({done.returncode}): {done.stderr.strip()}")


def _rows_differ(ours, theirs, keys: list[str], values: list[str]) -> dict:
    """Row-for-row comparison on ``keys``: rows in one only and rows whose values differ."""
    merged = ours.merge(theirs, on=keys, how="outer", suffixes=("_ours", "_rt"), indicator=True)
    only = merged[merged["_merge"] != "both"]
    both = merged[merged["_merge"] == "both"]
    differ = both[sum((both[f"{v}_ours"] != both[f"{v}_rt"]).astype(int) for v in values) > 0]
    import pandas as pd

    where = only["_merge"].map({"left_only": "ours only", "right_only": "retentioneering only"}).astype(str)
    bad = pd.concat([only.assign(where=where), differ.assign(where="values differ")], ignore_index=True)
    cols = keys + [f"{v}_{s}" for v in values for s in ("ours", "rt")]
    return {"rows_ours": len(ours), "rows_rt": len(theirs), "equal": bad.empty,
            "differences": bad[cols + ["where"]].sort_values(keys).to_dict("records") if not bad.empty else []}


def compare(out: Path, max_steps: int) -> dict:
    """The three comparisons of the module notes on the files both sides wrote."""
    import pandas as pd

    sys.path.insert(0, str(REPO))
    from journeylib.flows import step_nodes
    from journeylib.schema import END_NODE

    text = {"source": "str", "target": "str", "node": "str"}
    flows = pd.read_csv(out / "ours_flows.csv", dtype=text, keep_default_na=False)
    trans = pd.read_csv(out / "ours_transitions.csv", dtype=text, keep_default_na=False)
    sm = pd.read_csv(out / "rt_step_matrix.csv", index_col="node", keep_default_na=False)
    sm.columns = [int(c) for c in sm.columns]
    rt_pairs = pd.read_csv(out / "rt_transitions.csv", dtype=text, keep_default_na=False)
    steps = list(range(1, max_steps + 1))

    nodes = step_nodes(flows)[["step", "node", "customers"]]
    rt_nodes = (sm.drop(index=[PATH_START, PATH_END], errors="ignore")[steps]
                .stack().rename("customers").reset_index())
    rt_nodes.columns = ["node", "step", "customers"]
    rt_nodes = rt_nodes[rt_nodes["customers"] > 0][["step", "node", "customers"]]
    result = {"step_nodes": _rows_differ(nodes, rt_nodes, ["step", "node"], ["customers"])}

    ends = flows[flows["target"] == END_NODE].groupby("step")["customers"].sum()
    ended = pd.DataFrame({"step": steps, "ended": [int(ends[ends.index < k].sum()) for k in steps]})
    rt_ended = pd.DataFrame({"step": steps, "ended": [int(sm.loc[PATH_END, k]) for k in steps]})
    result["ended_before_step"] = _rows_differ(ended, rt_ended, ["step"], ["ended"])

    boundary = rt_pairs["source"].eq(PATH_START) | rt_pairs["target"].eq(PATH_END)
    result["transitions"] = _rows_differ(trans, rt_pairs[~boundary], ["source", "target"],
                                         ["transitions", "customers"])
    result["transitions"]["rt_boundary_pairs_left_out"] = int(boundary.sum())
    result["transitions"]["rt_boundary_transitions_left_out"] = int(rt_pairs.loc[boundary, "transitions"].sum())
    return result


def check(python: Path, workdir: Path, max_steps: int) -> dict:
    """Run both sides in ``workdir`` and compare; the result of :func:`compare` with the peer's facts."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, RETENTIONEERING_NO_TRACK="1")
    done = subprocess.run([str(python), str(Path(__file__).resolve()), "--child", "--workdir", str(workdir),
                           "--max-steps", str(max_steps)], cwd=REPO, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"the retentioneering side failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    run_ours(workdir / "ecom.csv", workdir, max_steps)
    result = compare(workdir, max_steps)
    result["rt"] = json.loads((workdir / "rt.json").read_text())
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rt-python", help=f"the peer venv's python (default $RETENTIONEERING_PYTHON or "
                        f"{DEFAULT_RT_PYTHON})")
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--workdir", help="where the CSVs go (default a temporary folder)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_rt(Path(args.workdir), args.max_steps)
        return 0
    python = rt_python(args.rt_python)
    if python is None:
        print("no retentioneering python: give --rt-python or set RETENTIONEERING_PYTHON (bench/README.md)",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        try:
            result = check(python, workdir, args.max_steps)
        except RuntimeError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    rt = result.pop("rt")
    print(f"retentioneering {rt['versions']['retentioneering']} ecom: {rt['events']:,} events, {rt['paths']:,} "
          f"paths by {rt['path_col']}; max_steps {args.max_steps}")
    equal = True
    for name, r in result.items():
        extra = ""
        if "rt_boundary_pairs_left_out" in r:
            extra = (f"; left out {r['rt_boundary_pairs_left_out']} path_start/path_end pairs "
                     f"({r['rt_boundary_transitions_left_out']:,} of theirs)")
        print(f"{name}: {'equal' if r['equal'] else 'DIFFERENT'} ({r['rows_ours']} rows ours, "
              f"{r['rows_rt']} rows retentioneering{extra})")
        for row in r["differences"]:
            print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))
        equal &= r["equal"]
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
