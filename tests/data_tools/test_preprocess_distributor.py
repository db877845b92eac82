"""The process pool: crashes and hangs cost one job, temp files of killed jobs are removed, results are complete."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from preprocess_fixtures import job_echo, job_misbehave

from data_tools.distributor import Job, run_jobs
from data_tools.journal import ChunkJournal, chunk_fingerprint
from data_tools.runner import RunOptions, my_chunks, run_chunked


def test_sequential_and_pool_give_the_same_results():
    jobs = [Job(i, {"x": i}) for i in range(7)]
    seq = {r.key: r.value for r in run_jobs(job_echo, jobs, workers=0)}
    pool = {r.key: r.value for r in run_jobs(job_echo, jobs, workers=2)}
    assert seq == pool == {i: {"status": "ok", "reason": "", "value": 2 * i} for i in range(7)}


@pytest.mark.slow
def test_crash_hang_and_exception_cost_one_job_each(tmp_path):
    tmp = tmp_path / ".out.partial.mp4"
    jobs = [
        Job(0, {"mode": "ok", "x": 1}),
        Job(1, {"mode": "crash"}),
        Job(2, {"mode": "hang"}),
        Job(3, {"mode": "raise"}),
        Job(4, {"mode": "write", "tmp": str(tmp)}, cleanup=(str(tmp),)),
        Job(5, {"mode": "ok", "x": 5}),
    ]
    results = {r.key: r for r in run_jobs(job_misbehave, jobs, workers=2, timeout=4.0)}
    assert sorted(results) == list(range(6))
    assert results[0].ok and results[0].value["value"] == 1
    assert results[5].ok and results[5].value["value"] == 5
    assert results[1].status == "crashed" and "SIGSEGV" in results[1].reason
    assert results[2].status == "timeout"
    assert results[3].status == "error" and "ValueError: bad input" in results[3].reason
    assert results[4].status == "timeout"
    assert not tmp.exists(), "the killed job's temporary output must be removed"


@pytest.mark.slow
def test_retries_rerun_crashed_jobs():
    results = list(run_jobs(job_misbehave, [Job(0, {"mode": "crash"})], workers=1, retries=1))
    assert len(results) == 1 and results[0].status == "crashed" and results[0].attempts == 2


def test_job_array_slices_are_disjoint_and_complete():
    n = 23
    seen: list[int] = []
    for i in range(3):
        opts = RunOptions(num_shards=3, shard_index=i, chunk_size=4)
        for c in my_chunks(n, opts):
            seen.extend(range(c * 4, min(c * 4 + 4, n)))
    assert sorted(seen) == list(range(n))


def test_finished_chunks_are_not_rerun(tmp_path):
    payloads = [{"x": i} for i in range(10)]
    ids = [str(i) for i in range(10)]
    opts = RunOptions(workers=0, chunk_size=4, progress=False)
    first = run_chunked(job_echo, payloads, ids, work_dir=tmp_path / "w", opts=opts, settings={}, desc="t")
    assert first.processed == 10 and first.resumed == 0
    # a chunk whose done marker is missing (killed before it was written) is redone; the others are reused
    ChunkJournal(tmp_path / "w").stats_path(1).unlink()
    second = run_chunked(job_echo, payloads, ids, work_dir=tmp_path / "w", opts=opts, settings={}, desc="t")
    assert second.processed == 4 and second.resumed == 6
    assert second.results == first.results
    # changed settings change every fingerprint: nothing is reused
    third = run_chunked(job_echo, payloads, ids, work_dir=tmp_path / "w", opts=opts, settings={"k": 1}, desc="t")
    assert third.processed == 10
    assert chunk_fingerprint(["a"], {}) != chunk_fingerprint(["b"], {})
