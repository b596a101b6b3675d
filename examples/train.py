"""Train a skinsr-tf model. Composition of `skinsr_tf.training.train`; flags only.

  python examples/train.py --model=edge_sisr --preset=small --steps=2000 --output_dir=runs/edge
  python examples/train.py --model=unet --scale=8 --data_dir=/data/isic --epochs=50 --steps_per_epoch=500
  # interrupted? the same command plus --resume continues from the last checkpoint.

edge_sisr stages: --stage=edge or --stage=sr train one GAN; --stage=joint trains the SR GAN on a
frozen edge generator loaded from --edge_weights (an edge-stage run's folder or a weights file in
it: only its edge generator is taken; the SR networks start fresh). With "edge_source": "prior" in
--model_kwargs the SR GAN reads the prior edges and no edge stage runs. Otherwise, without
--edge_weights, joint first trains the edge stage for the same number of steps into
<output_dir>/edge_stage (skipped when that run already finished), then the joint stage.
Preset default: "full" when a GPU is visible, else "small". The output folder (default
runs/<model>_x<scale>_<UTC timestamp>, a new one per run) holds config.json,
checkpoints/, logs/ (TensorBoard) and final.weights.h5; `skinsr_tf.load_model(output_dir)`
rebuilds the trained model from it alone.
"""

import json
import sys
from pathlib import Path

from skinsr_tf import console  # first: quiets TensorFlow unless --verbose
from absl import flags

from skinsr_tf.catalog import TRAINABLE_MODELS
from skinsr_tf.runs import new_run_dir

_PREDEFINED = set(flags.FLAGS)
flags.DEFINE_enum("model", "edge_sisr", TRAINABLE_MODELS, "Model to train.")
flags.DEFINE_enum("stage", "joint", ["edge", "sr", "joint"], "edge_sisr training stage.")
flags.DEFINE_string("edge_weights", None, "edge_sisr joint: trained edge-stage run folder (or a weights file "
                    "in it); only its edge generator is loaded.")
flags.DEFINE_enum("scale", "4", ["2", "4", "8"], "Upscaling factor.")
flags.DEFINE_enum("preset", None, ["full", "small", "tiny"], "Network size (default: full on GPU, else small).")
flags.DEFINE_string("data_dir", None, "Image folder or manifest (default: the synthetic skin set).")
flags.DEFINE_integer("steps", None, "Total optimisation steps (default: epochs * steps_per_epoch).")
flags.DEFINE_integer("epochs", 10, "Epochs, used when --steps is not given.")
flags.DEFINE_integer("steps_per_epoch", 100, "Steps between validation / checkpoint / log points.")
flags.DEFINE_integer("checkpoint_every", None, "Steps between checkpoints within an epoch "
                     "(default: steps_per_epoch; steps/10 when the run is shorter than an epoch).")
flags.DEFINE_integer("batch_size", 8, "Global batch size (split across replicas).")
flags.DEFINE_integer("crop", 128, "HR training crop size (pixels).")
flags.DEFINE_float("lr", None, "Learning rate (default: the model's, 1e-3).")
flags.DEFINE_list("betas", None, "Adam beta_1,beta_2 (default: the model's; reference code: 0,0.9).")
flags.DEFINE_enum("lr_schedule", "plateau", ["plateau", "constant"],
                  "plateau: multiply the lr by --plateau_factor when validation stalls; constant: never change it.")
flags.DEFINE_float("plateau_factor", 0.1, "lr multiplier at a plateau.")
flags.DEFINE_integer("plateau_patience", 5, "Epochs without a --plateau_min_delta gain before the lr drops.")
flags.DEFINE_float("plateau_min_lr", None, "Lowest lr (default: --lr x --plateau_factor, one reduction).")
flags.DEFINE_float("plateau_min_delta", 1e-3, "Smallest gain of the validation metric that counts.")
flags.DEFINE_bool("residual", False, "Read the generator output as a correction to bicubic (global residual).")
flags.DEFINE_float("edge_bce_weight", 0.0, "edge_sisr: BCE weight between generated and HR Canny edges (report: 0).")
flags.DEFINE_string("model_kwargs", None, 'Extra model arguments as JSON, e.g. \'{"adv_weight": 0.1}\'.')
flags.DEFINE_string("perceptual_weights", None, "VGG19 weights file for edge_sisr/spsr content and style losses.")
flags.DEFINE_string("output_dir", None, "Run folder (default: runs/<model>_x<scale>_<UTC timestamp>).")
flags.DEFINE_enum("strategy", "auto", ["auto", "one", "mirrored", "multiworker"], "tf.distribute strategy.")
flags.DEFINE_bool("mixed_precision", False, "mixed_float16 (GPU).")
flags.DEFINE_bool("jit_compile", False, "XLA-compile the train step (single device only).")
flags.DEFINE_bool("resume", False, "Continue from the newest checkpoint in --output_dir.")
flags.DEFINE_integer("val_batches", None, "Limit validation to this many batches.")
flags.DEFINE_integer("seed", 0, "Random seed.")
flags.DEFINE_enum("degradation", "bicubic", ["bicubic", "realistic", "phone"],
                  "How LR is made from HR: MATLAB bicubic, or the randomised phone-photo chains of skinsr_tf.data.degrade.")
flags.DEFINE_string("init_weights", None, "Start from these weights: a run folder, a checkpoint, or shipped "
                    "skinsr_tf/weights/*.shipped.h5 (edge_sisr: --edge_weights does the same).")
FLAGS = flags.FLAGS
OUR_FLAGS = sorted(set(FLAGS) - _PREDEFINED)


def main(argv):
    del argv
    import tensorflow as tf

    from skinsr_tf.models.edge_informed import EDGE_PRIOR
    from skinsr_tf.training import FINAL_WEIGHTS, DataError, NonFiniteLossError, train

    preset = FLAGS.preset or ("full" if tf.config.list_physical_devices("GPU") else "small")
    steps = FLAGS.steps or FLAGS.epochs * FLAGS.steps_per_epoch
    kwargs = {"scale": int(FLAGS.scale), "preset": preset, "residual": FLAGS.residual}
    if FLAGS.model in ("edge_sisr", "spsr") and FLAGS.perceptual_weights:
        kwargs["perceptual_weights"] = FLAGS.perceptual_weights
    common = dict(
        data_dir=FLAGS.data_dir, steps=steps, steps_per_epoch=FLAGS.steps_per_epoch,
        checkpoint_every=FLAGS.checkpoint_every,
        batch_size=FLAGS.batch_size, crop=FLAGS.crop, learning_rate=FLAGS.lr,
        betas=tuple(float(b) for b in FLAGS.betas) if FLAGS.betas else None,
        strategy=FLAGS.strategy, mixed_precision=FLAGS.mixed_precision, jit_compile=FLAGS.jit_compile,
        resume=FLAGS.resume, seed=FLAGS.seed, val_batches=FLAGS.val_batches, degradation=FLAGS.degradation,
        lr_schedule=FLAGS.lr_schedule, plateau_factor=FLAGS.plateau_factor,
        plateau_patience=FLAGS.plateau_patience, plateau_min_lr=FLAGS.plateau_min_lr,
        plateau_min_delta=FLAGS.plateau_min_delta,
        extra_config={"flags": {name: FLAGS[name].value for name in OUR_FLAGS}},
    )
    if FLAGS.model_kwargs:
        try:
            kwargs.update(json.loads(FLAGS.model_kwargs))
        except (json.JSONDecodeError, TypeError) as e:
            sys.exit(f"error: --model_kwargs is not a JSON object: {e}")
    if FLAGS.output_dir:
        output_dir = Path(FLAGS.output_dir)
    elif FLAGS.resume:
        sys.exit("error: --resume needs --output_dir, the folder of the run to continue")
    else:  # a new folder per run, so the same command works twice
        output_dir = new_run_dir(FLAGS.model, FLAGS.scale)
    init_weights = FLAGS.init_weights
    try:
        if FLAGS.model == "edge_sisr":
            kwargs["stage"] = FLAGS.stage
            kwargs["edge_bce_weight"] = FLAGS.edge_bce_weight
            init_weights = FLAGS.edge_weights or init_weights
            if FLAGS.stage == "joint" and not init_weights and kwargs.get("edge_source") != EDGE_PRIOR:
                edge_dir = output_dir / "edge_stage"
                if not (edge_dir / FINAL_WEIGHTS).is_file():
                    print(f"No --edge_weights: training the edge stage first into {edge_dir}")
                    train(FLAGS.model, {**kwargs, "stage": "edge"}, output_dir=edge_dir, **common)
                init_weights = str(edge_dir / FINAL_WEIGHTS)
        train(FLAGS.model, kwargs, output_dir=output_dir, init_weights=init_weights, **common)
    except (NonFiniteLossError, FileExistsError, DataError) as e:
        sys.exit(f"error: {e}")
    print(f"Done: {output_dir / FINAL_WEIGHTS}")


if __name__ == "__main__":
    console.run(main)
