"""Under torchrun: every process pushes its own rows into a `ProbeAdversary`, then writes its bank to OUT/rank{r}.pt.

    OMP_NUM_THREADS=1 python -m torch.distributed.run --nproc_per_node 2 tests/ddp_adversary.py OUT
"""
import os, sys
import torch
import torch.distributed as dist

def main(out):
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    from synthlab.talk.losses import ProbeAdversary
    adv = ProbeAdversary(2, 1, bank=16, min_rows=4)
    for step in range(3):                                     # rows tagged (rank, step); the penalty starts at step 1
        code = torch.tensor([[rank, step], [rank, step + 0.5]], dtype=torch.float32) + 0.01 * torch.randn(2, 2)
        loss, logs = adv(code, torch.tensor([[float(rank)], [step + 1.0]]))
    torch.save({"bank_x": adv.bank_x, "bank_y": adv.bank_y, "seen": adv.seen, "corr": adv.corr}, os.path.join(out, f"rank{rank}.pt"))
    dist.destroy_process_group()

if __name__ == "__main__":
    main(sys.argv[1])
    from synthlab.train import end_worker
    end_worker(0)
