import pytest

from vidssl.train.distributed import ShardedSampler


def _batches(indices, size):
    return [indices[i : i + size] for i in range(0, len(indices), size)]


@pytest.mark.parametrize("world", [2, 4])
def test_rank_batches_form_the_single_process_batches(world):
    n, global_batch = 48, 8
    single = ShardedSampler(n, seed=3)
    single.set_epoch(5)
    ref = _batches(list(single), global_batch)
    shards = []
    for rank in range(world):
        s = ShardedSampler(n, num_replicas=world, rank=rank, seed=3)
        s.set_epoch(5)
        shards.append(_batches(list(s), global_batch // world))
    for k, batch in enumerate(ref):
        assert sorted(batch) == sorted(i for shard in shards for i in shard[k])


def test_epochs_reshuffle_deterministically():
    a, b = ShardedSampler(20, seed=1), ShardedSampler(20, seed=1)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b)
    b.set_epoch(2)
    assert list(a) != list(b)
    assert sorted(a) == list(range(20))


def test_padding_and_uneven_eval_shards():
    train = [list(ShardedSampler(10, num_replicas=4, rank=r, pad=True)) for r in range(4)]
    assert {len(t) for t in train} == {3} and len(ShardedSampler(10, num_replicas=4, pad=True)) == 3
    evals = [list(ShardedSampler(10, num_replicas=4, rank=r, shuffle=False, pad=False)) for r in range(4)]
    assert sorted(i for e in evals for i in e) == list(range(10))  # every example exactly once
    assert [len(ShardedSampler(10, num_replicas=4, rank=r, pad=False)) for r in range(4)] == [3, 3, 2, 2]
