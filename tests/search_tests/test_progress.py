"""What a person sees of a real `hpsearch run`: on a terminal, in a log file, and from another
shell with `hpsearch status`."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import time
from collections import Counter

import pytest
from optuna.trial import TrialState

from tests.search_tests.drivers import HPSEARCH, run, start, wait_for
from tests.servers import shell_env

pytestmark = pytest.mark.slow
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
RUNNING_ROW = re.compile(r"trial (\d+) +lr=\S+ +([1-2])/3 +\d\.\d{4} +\d+ s")


def _under_a_terminal(argv: list[str], seconds: float = 300) -> tuple[int, str, float | None]:
    """Run argv with a pseudo-terminal as stdout and stderr, 140 columns wide: (exit status,
    everything it wrote, seconds until a running trial's row and the footer were on screen)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    process = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=shell_env(), close_fds=True
    )
    os.close(slave)
    started, seen_live, chunks = time.monotonic(), None, []
    while time.monotonic() - started < seconds:
        ready, _, _ = select.select([master], [], [], 0.5)
        if not ready:
            if process.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
        text = ANSI.sub("", b"".join(chunks[-20:]).decode(errors="replace"))
        if seen_live is None and RUNNING_ROW.search(text) and "trials finished ·" in text:
            seen_live = time.monotonic() - started
    os.close(master)
    status = process.wait(timeout=60)
    return status, b"".join(chunks).decode(errors="replace"), seen_live


def test_a_terminal_shows_running_trials_and_the_footer_while_they_run(study_file, tmp_path):
    status, output, seen_live = _under_a_terminal(
        [HPSEARCH, "run", str(study_file), "--run-dir", str(tmp_path / "run")]
    )
    text = ANSI.sub("", output)
    assert status == 0, text[-3000:]
    assert seen_live is not None, text[-3000:]  # a trial's row, mid-trial, with the footer
    assert re.search(r"\d/6 trials finished · best val_loss \d\.\d{4} \(#\d+\)", text)
    assert "\x1b[" in output  # drawn in place, not printed line after line
    # The trial lines and the final summary stay, in order, above where the area was.
    assert re.search(r"trial +\d+ COMPLETE val_loss", text)
    assert text.index("COMPLETE") < text.index("trials: 6 complete")


def _refit_epoch_stored(run_dir, process) -> dict:
    """The refit's progress, once the storage holds an epoch of it."""
    import optuna

    from search.trials.attrs import REFIT

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before its refit was seen"
        try:
            study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{run_dir}/optuna.db")
            refit = study.user_attrs.get(REFIT)
        except KeyError:
            refit = None
        if refit and refit["epoch"] >= 1:
            return refit
        time.sleep(0.05)
    pytest.fail("the refit never stored an epoch")


def test_a_log_gets_plain_epoch_lines_and_status_reads_the_live_run(study_file, tmp_path):
    run_dir = tmp_path / "run"
    process = start(study_file, run_dir)
    found = wait_for(
        lambda trials: any(
            t.state == TrialState.RUNNING and len(t.intermediate_values) >= 1 for t in trials
        ),
        run_dir,
        process,
    )
    live = run("status", str(run_dir), seconds=60)
    assert live.returncode == 0, live.stderr
    assert f"driven by pid {process.pid} on" in live.stdout
    running = [t.number for t in found if t.state == TrialState.RUNNING]
    rows = re.findall(r"trial (\d+) +lr=\S+ +\d/3 +[\d.]* *\d\d:\d\d:\d\d \(\d+ s\)", live.stdout)
    assert rows and set(map(int, rows)) & set(running), live.stdout
    assert re.search(r"\d/6 trials finished", live.stdout)

    # During the refit, status shows its row as the live view does: the driver held still
    # (SIGSTOP) at a refit epoch, so the picture cannot move on while status reads it.
    refitting = _refit_epoch_stored(run_dir, process)
    process.send_signal(signal.SIGSTOP)
    try:
        shown = json.loads(run("status", str(run_dir), "--json", seconds=60).stdout)
    finally:
        process.send_signal(signal.SIGCONT)
    (row,) = [r for r in shown["running"] if r["kind"] == "refit"]
    assert row["trial"] == refitting["trial"] and row["epoch"] >= 1 and row["epochs"] == 3
    assert row["label"].startswith(f"refit of #{refitting['trial']} on cpu")
    assert shown["driven_by"]["pid"] == process.pid

    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", stdout)  # no control characters
    epochs = Counter(re.findall(r"^trial +(\d+) epoch (\d)/3", stdout, flags=re.MULTILINE))
    assert len(epochs) == 6 * 3 and max(epochs.values()) == 1  # one line an epoch a trial
    assert re.search(r"^refit: epoch 3/3 on cpu, train_loss", stdout, flags=re.MULTILINE)

    done = run("status", str(run_dir), seconds=60)
    assert "no hpsearch run drives it now" in done.stdout
    assert "6/6 trials finished" in done.stdout
    assert re.search(r"finished: best trial \d+, val_loss \d\.\d{4}; test: accuracy", done.stdout)
