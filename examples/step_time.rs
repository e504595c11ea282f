//! Milliseconds per training step of one model on this machine, through the notebooks' Trainer.
//!
//! `cargo run --release --example step_time -- <toy|mlp28|dcgan28|dcgan28-fast-ema|dcgan32|dcgan64|wgan28|wgan-gp28|wgan-gp64|cgan28|pix2pix64|pix2pix64-nb05|cyclegan32> [width] [batch] [steps]`
//!
//! `GANS_DEVICE=cpu|cuda` picks the device (default: CUDA when there is one);
//! `GANS_CHANNELS_LAST=0|1` overrides the config's channels-last weights (for A/B runs);
//! `GANS_PRECISION=fp32|bf16` sets the step's precision (default fp32);
//! `GANS_BENCH_DATA` picks the images: `test` (the default: Fashion-MNIST's 10,000 test images,
//! the emoji faces), `train` (Fashion-MNIST's 60,000 training images: 468 steps at batch 128 are
//! one epoch) or `random` (random pixels of the same shapes and counts, as `bench/reference.py`
//! uses: no data files needed, which is how a GPU machine without the datasets runs it).
//! `make bench` runs it beside the PyTorch references of `bench/`.
use std::time::Instant;

mod args;

use anyhow::{Result, bail};
use gans::data::Dataset;
use gans::data::paired::PairedDataset;
use gans::prelude::*;
use gans::train::TrainData;
use tch::{Device, Kind, Tensor};

/// `n` random images of `[c, size, size]` in [−1, 1], the same for the same `seed`.
fn random_pixels(n: i64, c: i64, size: i64, seed: i64, dev: Device) -> Tensor {
    tch::manual_seed(seed);
    Tensor::rand([n, c, size, size], (Kind::Float, dev)) * 2.0 - 1.0
}

/// `n` random images of `[c, size, size]`, with labels 0–9.
fn random_images(n: i64, c: i64, size: i64, dev: Device) -> Dataset {
    Dataset {
        name: format!("random {c}×{size}×{size}"),
        images: random_pixels(n, c, size, 0, dev),
        labels: Some(Tensor::arange(n, (Kind::Int64, dev)).remainder(10)),
        class_names: (0..10).map(|i| i.to_string()).collect(),
    }
}

/// The 28×28 images of the benchmark.
fn images28(source: &str, dev: Device) -> Result<Dataset> {
    match source {
        "test" => fashion_mnist::load(Split::Test, dev),
        "train" => fashion_mnist::load(Split::Train, dev),
        "random" => Ok(random_images(10_000, 1, 28, dev)),
        other => bail!("GANS_BENCH_DATA={other:?}: use test, train or random"),
    }
}

/// The 64×64 colour images of the benchmark (2,000 emoji faces, or as many random ones).
fn images64(source: &str, dev: Device) -> Result<Dataset> {
    match source {
        "random" => Ok(random_images(2_000, 3, 64, dev)),
        _ => emoji::load(Split::Train, &EmojiOptions::faces(), dev),
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map(String::as_str).unwrap_or("dcgan28");
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (width, batch, steps) = (arg(2, 64) as i64, arg(3, 64), arg(4, 20));
    let dev = parse_device(&std::env::var("GANS_DEVICE").unwrap_or_else(|_| "auto".into()))?;
    let source = std::env::var("GANS_BENCH_DATA").unwrap_or_else(|_| "test".into());
    let source = source.as_str();
    let dcgan = |size: i64, channels: i64, n_classes: i64, norm: Norm| {
        ModelConfig::Dcgan(DcganConfig {
            image_size: size,
            channels,
            width,
            norm,
            n_classes,
            ..DcganConfig::default()
        })
    };
    let (config, data): (TrainConfig, TrainData) = match which {
        "toy" => (
            TrainConfig::toy(ToyConfig::default()),
            Toy2d::new(Toy2dKind::Ring, dev).into(),
        ),
        "mlp28" => (
            TrainConfig::gan(ModelConfig::Mlp(MlpConfig::default())),
            images28(source, dev)?.into(),
        ),
        "dcgan28" => (
            TrainConfig::gan(dcgan(28, 1, 0, Norm::Batch)),
            images28(source, dev)?.into(),
        ),
        "dcgan28-fast-ema" => (
            TrainConfig::fast_ema(dcgan(28, 1, 0, Norm::Batch)),
            images28(source, dev)?.into(),
        ),
        "cgan28" => (
            TrainConfig::gan(dcgan(28, 1, 10, Norm::Batch)),
            images28(source, dev)?.into(),
        ),
        "wgan-gp28" => (
            TrainConfig::wgan_gp(dcgan(28, 1, 0, Norm::Layer)),
            images28(source, dev)?.into(),
        ),
        "dcgan64" => (
            TrainConfig::gan(dcgan(64, 3, 0, Norm::Batch)),
            images64(source, dev)?.into(),
        ),
        "dcgan32" => (
            TrainConfig::gan(dcgan(32, 3, 0, Norm::Batch)),
            random_images(2_000, 3, 32, dev).into(),
        ),
        "wgan28" => (
            TrainConfig::wgan(dcgan(28, 1, 0, Norm::Batch)),
            images28(source, dev)?.into(),
        ),
        "wgan-gp64" => (
            TrainConfig::wgan_gp(dcgan(64, 3, 0, Norm::Layer)),
            images64(source, dev)?.into(),
        ),
        "pix2pix64" => (
            TrainConfig::pix2pix(
                UnetConfig {
                    image_size: 64,
                    in_channels: 1,
                    width,
                    ..UnetConfig::default()
                },
                PatchGanConfig {
                    in_channels: 4,
                    width,
                    ..Default::default()
                },
            ),
            if source == "random" {
                PairedDataset {
                    name: "random pairs".into(),
                    inputs: random_pixels(2_000, 1, 64, 0, dev),
                    targets: random_pixels(2_000, 3, 64, 1, dev),
                }
                .into()
            } else {
                paired::edges_to(&images64(source, dev)?, 64)?.into()
            },
        ),
        "pix2pix64-nb05" => (
            args::notebook05_pix2pix(),
            paired::edges_to(&images64(source, dev)?, 64)?.into(),
        ),
        "cyclegan32" => (
            TrainConfig::cyclegan(CycleGanConfig {
                d_width: width,
                ..CycleGanConfig::sized(32, width)
            }),
            UnpairedDataset {
                name: "random 3×32×32, two sides".into(),
                a: random_pixels(1_000, 3, 32, 0, dev),
                b: random_pixels(1_000, 3, 32, 1, dev),
                aligned: false,
            }
            .into(),
        ),
        other => bail!("unknown model {other:?}"),
    };
    let mut config = config.batch_size(batch).quiet();
    if let Ok(flag) = std::env::var("GANS_CHANNELS_LAST") {
        config = config.channels_last(flag == "1");
    }
    if let Ok(precision) = std::env::var("GANS_PRECISION") {
        config = config.precision(Precision::parse(&precision)?);
    }
    let layout = if config.channels_last {
        "channels-last"
    } else {
        "contiguous"
    };
    let mut trainer = Trainer::new(config, data)?;
    trainer.train(3)?; // warm-up
    let start = Instant::now();
    trainer.train(steps)?;
    let ms = start.elapsed().as_secs_f64() * 1000.0 / steps as f64;
    let precision = trainer.config().precision;
    println!(
        "{which} width {width} batch {batch} on {dev:?}, {layout} weights, {precision}: {ms:.1} ms/step"
    );
    Ok(())
}
