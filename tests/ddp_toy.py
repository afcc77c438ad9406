"""Run `synthlab.train.train_main` as a script, so torchrun can start it:

    OMP_NUM_THREADS=1 python -m torch.distributed.run --nproc_per_node 2 --master_port 29511 tests/ddp_toy.py toy --out /tmp/toy-ddp

Task `toy-direct` (tests only): the toy task with a loss that bypasses `model.forward`.

Extra flag (tests only): `--crash-after-steps N` kills every process with `os._exit(3)` right after step N, like a
crash or `kill -9` would (no cleanup, no final checkpoint).
"""
import os, sys, argparse
import torch

def direct_loss(model, batch):
    x, y = batch
    lin = getattr(model, "module", model)
    pred = torch.nn.functional.linear(x, lin.weight, lin.bias)
    return ((pred - y) ** 2).mean(), {}

def main(argv):
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--crash-after-steps", type=int, default=None)
    extra, rest = p.parse_known_args(argv)
    torch.set_num_threads(1)
    from synthlab.train import train_main, register_task, get_task
    @register_task("toy-direct")
    def toy_direct(overrides):
        "The toy task with a loss that never calls the model's forward: it reads the parameters directly (as a loss calling encoder methods does)."
        return {**get_task("toy")(overrides), "loss_fn": direct_loss}
    kw = {}
    if extra.crash_after_steps is not None:
        def on_step(step, logs):
            if step >= extra.crash_after_steps:
                sys.stdout.flush(); sys.stderr.flush(); os._exit(3)
        kw["on_step"] = on_step
    from synthlab.train import end_worker
    return end_worker(train_main(rest, **kw))

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
