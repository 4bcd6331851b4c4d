"""Saving is atomic: a process killed (SIGKILL) at random moments while it saves leaves the
workspace readable, every listed dataset complete, in its old or its new version.

A child process saves in a tight loop (replacing one dataset with alternating versions, and
creating new datasets); the test kills it after a random delay, then checks the workspace
through journeylib.workspace's list and open, and repeats. JOURNEY_KILLS sets the number of
kills (default 30).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from journeylib import workspace as ws
from journeylib.engine import Engine
from journeylib.schema import JourneyData

REPO = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("JOURNEY_KILLS", "30"))
# Version k: events all with touchpoint "v<k>", ROWS[k] rows, a survey of k rows.
ROWS = {1: 500, 2: 30_000, 3: 12_000}


def version(engine: Engine, k: int) -> JourneyData:
    n = ROWS[k]
    events = pd.DataFrame({
        "customer_id": [f"c{i % 97}" for i in range(n)],
        "timestamp": pd.date_range("2024-01-01", periods=n, freq="min").astype("datetime64[us]"),
        "seq": range(n),
        "touchpoint": f"v{k}",
        "stage": "Awareness",
        "channel": "web",
    })
    survey = pd.DataFrame({"customer_id": [f"c{i}" for i in range(k)], "stage": "Awareness",
                           "touchpoint": f"v{k}", "score": [float(k)] * k})
    return JourneyData(events=engine.table(events), survey=engine.table(survey),
                       source_names={"touchpoints": f"v{k}.csv"})


# A pre-loaded parent forks one saving child per kill, so each round does not pay for
# importing Ibis and DuckDB again. The engine is created after the fork (in the child).
ZYGOTE = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from journeylib import workspace as ws
    from journeylib.engine import Engine
    from tests.journeylib.test_atomic_save import version

    root, target = Path({root!r}), {target!r}
    for command in sys.stdin:
        pid = os.fork()
        if pid == 0:
            engine = Engine()
            versions = {{k: version(engine, k) for k in (2, 3)}}
            print(f"ready {{os.getpid()}}", flush=True)
            i = 0
            while True:
                k = 2 + i % 2
                ws.save_dataset(versions[k], f"version {{k}}", dataset_id=target, root=root, engine=engine)
                if i % 3 == 0:
                    ws.save_dataset(versions[k], f"version {{k}}", root=root, engine=engine)
                i += 1
        _, status = os.waitpid(pid, 0)
        print(f"done {{status}}", flush=True)
""")


def check_workspace(root: Path, engine: Engine, target: str, verified: set | None = None) -> str:
    """Every listed dataset opens complete and is exactly one of the versions; the target
    dataset is always there. Returns the name of the target's version. ``verified`` holds
    (id, save stamp) pairs already checked, which are not opened again."""
    infos = ws.list_datasets(root)
    assert target in {i.id for i in infos}, "the dataset being replaced disappeared"
    target_name = ""
    verified = set() if verified is None else verified
    for info in infos:
        if info.id == target:
            target_name = info.name
        if (info.id, info.saved) in verified:
            continue
        # Names are unique in a workspace: a later save of "version 3" is "version 3 (2, <day>)".
        k = int(info.name.split()[1])
        assert info.name == f"version {k}" or info.name.startswith(f"version {k} (")
        assert info.row_counts == {"events": ROWS[k], "survey": k}
        data = ws.open_dataset(info.id, root=root, engine=engine)
        events = engine.execute(data.events.group_by("touchpoint").aggregate(n=data.events.count()))
        assert events.set_index("touchpoint")["n"].to_dict() == {f"v{k}": ROWS[k]}
        survey = engine.execute(data.survey)
        assert survey["score"].tolist() == [float(k)] * k
        assert dict(data.source_names) == {"touchpoints": f"v{k}.csv"}
        verified.add((info.id, info.saved))
    return target_name


def test_random_kills_during_saves_leave_old_or_new_version(tmp_path):
    engine = Engine()
    root = tmp_path / "ws"
    root.mkdir()
    first = ws.save_dataset(version(engine, 1), "version 1", root=root, engine=engine)
    rnd = random.Random(int(os.environ.get("JOURNEY_KILL_SEED", "11")))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    seen_versions: list[str] = []
    verified: set = set()
    zygote = subprocess.Popen([sys.executable, "-c", ZYGOTE.format(repo=str(REPO), root=str(root), target=first.id)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
    try:
        for _ in range(KILLS):
            zygote.stdin.write("go\n")
            zygote.stdin.flush()
            line = zygote.stdout.readline().split()
            assert line and line[0] == "ready", zygote.stderr.read()
            child = int(line[1])
            time.sleep(rnd.uniform(0.0, 0.6))
            os.kill(child, signal.SIGKILL)
            done = zygote.stdout.readline().split()
            assert done[0] == "done" and os.WIFSIGNALED(int(done[1])), done
            assert os.WTERMSIG(int(done[1])) == signal.SIGKILL, "the saving process stopped by itself"
            seen_versions.append(check_workspace(root, engine, first.id, verified))
    finally:
        zygote.stdin.close()
        zygote.wait(timeout=60)
        zygote.stdout.close()
        zygote.stderr.close()
    # The kills landed at different moments: the target was seen in more than one version.
    assert len(set(seen_versions)) >= 2 or KILLS < 5, seen_versions
    check_workspace(root, engine, first.id)  # and once more, opening everything
    leftovers = [p.name for p in root.iterdir() if not ws._ID_RE.match(p.name)]
    # Interrupted saves leave only hidden temporary folders, never half a dataset.
    assert all(name.startswith((".tmp-", ".old-", ".trash-")) for name in leftovers), leftovers
    print(f"\n{KILLS} kills survived; target versions seen: {pd.Series(seen_versions).value_counts().to_dict()}; "
          f"{len(ws.list_datasets(root))} datasets; {len(leftovers)} temporary folders left")
