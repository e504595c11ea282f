//! Milliseconds per training step of one model on this machine, through the notebooks' Trainer.
//!
//! `cargo run --release --example step_time -- <toy|mlp28|dcgan28|dcgan64|wgan28|wgan-gp28|wgan-gp64|cgan28|pix2pix64> [width] [batch] [steps]`
//!
//! `GANS_DEVICE=cpu|cuda` picks the device (default: CUDA when there is one). `make bench` runs
//! it beside the PyTorch references of `bench/`.
use std::time::Instant;

use anyhow::{Result, bail};
use gans::prelude::*;
use gans::train::TrainData;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let which = args.get(1).map(String::as_str).unwrap_or("dcgan28");
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (width, batch, steps) = (arg(2, 64) as i64, arg(3, 64), arg(4, 20));
    let dev = parse_device(&std::env::var("GANS_DEVICE").unwrap_or_else(|_| "auto".into()))?;
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
            fashion_mnist::load(Split::Test, dev)?.into(),
        ),
        "dcgan28" => (
            TrainConfig::gan(dcgan(28, 1, 0, Norm::Batch)),
            fashion_mnist::load(Split::Test, dev)?.into(),
        ),
        "cgan28" => (
            TrainConfig::gan(dcgan(28, 1, 10, Norm::Batch)),
            fashion_mnist::load(Split::Test, dev)?.into(),
        ),
        "wgan-gp28" => (
            TrainConfig::wgan_gp(dcgan(28, 1, 0, Norm::Layer)),
            fashion_mnist::load(Split::Test, dev)?.into(),
        ),
        "dcgan64" => (
            TrainConfig::gan(dcgan(64, 3, 0, Norm::Batch)),
            emoji::load(Split::Train, &EmojiOptions::faces(), dev)?.into(),
        ),
        "wgan28" => (
            TrainConfig::wgan(dcgan(28, 1, 0, Norm::Batch)),
            fashion_mnist::load(Split::Test, dev)?.into(),
        ),
        "wgan-gp64" => (
            TrainConfig::wgan_gp(dcgan(64, 3, 0, Norm::Layer)),
            emoji::load(Split::Train, &EmojiOptions::faces(), dev)?.into(),
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
                },
            ),
            paired::edges_to(&emoji::load(Split::Train, &EmojiOptions::faces(), dev)?, 64)?.into(),
        ),
        other => bail!("unknown model {other:?}"),
    };
    let mut trainer = Trainer::new(config.batch_size(batch).print_every(0), data)?;
    trainer.train(3)?; // warm-up
    let start = Instant::now();
    trainer.train(steps)?;
    let ms = start.elapsed().as_secs_f64() * 1000.0 / steps as f64;
    println!("{which} width {width} batch {batch} on {dev:?}: {ms:.1} ms/step");
    Ok(())
}
