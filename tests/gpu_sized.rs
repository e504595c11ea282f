//! The notebooks' GPU-sized models, trained a few steps each on the CPU.
//!
//! On a CUDA GPU (or with `GANS_GPU_SIZED=1`) notebooks 03 to 06 take the same code paths as on a
//! CPU with wider networks and larger batches; only notebook 02 changes what it trains (64×64
//! colour faces instead of 32×32), and `make notebooks` runs that notebook GPU-sized. This file
//! covers the rest for a fraction of a notebook pass: every wide network of notebooks 03–06, built
//! at the width and batch of the crate's GPU budget (`Budget::GPU`, which the notebooks read),
//! trains two steps with finite losses and samples at the right shape.

use std::sync::Mutex;

use gans::budget::Budget;
use gans::data::Dataset;
use gans::data::paired::PairedDataset;
use gans::models::dcgan::DcganConfig;
use gans::models::patchgan::PatchGanConfig;
use gans::models::unet::{UnetConfig, Upsample};
use gans::models::{Conditioning, Norm};
use gans::train::{GanLoss, ModelConfig, Remedies, TrainConfig, TrainData, Trainer};
use tch::{Device, Kind, Tensor};

// libtorch's random generator is one per process: one training at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `n` 28×28 grey images in 10 classes, made without randomness.
fn digits(n: i64) -> TrainData {
    let cpu = (Kind::Float, Device::Cpu);
    let images = (Tensor::arange(n * 28 * 28, cpu) * 0.29)
        .sin()
        .view([n, 1, 28, 28]);
    Dataset {
        name: "digits".into(),
        images,
        labels: Some(Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(10)),
        class_names: (0..10).map(|k| k.to_string()).collect(),
    }
    .into()
}

/// `n` pairs of a 64×64 grey input and a 64×64 colour target (notebook 05's edges → emoji).
fn edges_to_colour(n: i64) -> TrainData {
    let cpu = (Kind::Float, Device::Cpu);
    let targets = (Tensor::arange(n * 3 * 64 * 64, cpu) * 0.011)
        .cos()
        .view([n, 3, 64, 64]);
    PairedDataset {
        name: "edges".into(),
        inputs: targets.mean_dim(1, true, Kind::Float),
        targets,
    }
    .into()
}

/// Trains `config` two steps on `data`; the losses are finite and a sample has `shape`.
fn trains(name: &str, config: TrainConfig, data: TrainData, shape: &[i64]) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let config = config.seed(0).log_every(1).snapshot_every(0).quiet();
    let mut trainer = Trainer::new(config, data).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    trainer.train(2).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    let history = trainer.history();
    assert_eq!(history.step.len(), 2, "{name}: two history points");
    for (what, values) in [("loss_d", &history.loss_d), ("loss_g", &history.loss_g)] {
        assert!(
            values.iter().all(|v| v.is_finite()),
            "{name}: {what} {values:?}"
        );
    }
    let out = match trainer.config().model {
        ModelConfig::Pix2Pix(ref p) => {
            let channels = p.generator.in_channels;
            trainer.translate(&Tensor::zeros(
                [2, channels, 64, 64],
                (Kind::Float, Device::Cpu),
            ))
        }
        _ => trainer.sample(2),
    }
    .unwrap_or_else(|e| panic!("{name}: {e:#}"));
    assert_eq!(out.size(), shape, "{name}: the sample's shape");
}

fn dcgan28(width: i64, norm: Norm) -> DcganConfig {
    DcganConfig {
        image_size: 28,
        channels: 1,
        width,
        norm,
        ..DcganConfig::default()
    }
}

#[test]
fn notebook_03_critics_at_width_64() {
    // Batch 64, n_critic 5: clipping with batch norm, the penalty with layer norm.
    let width = Budget::GPU.wgan().width;
    trains(
        "03 clipping",
        TrainConfig::wgan(dcgan28(width, Norm::Batch))
            .clip(Some(0.01))
            .lr(2e-4, 2e-4)
            .n_critic(5)
            .batch_size(64),
        digits(128),
        &[2, 1, 28, 28],
    );
    trains(
        "03 gradient penalty",
        TrainConfig::wgan_gp(dcgan28(width, Norm::Layer))
            .loss(GanLoss::WassersteinGp { lambda: 10.0 })
            .lr(4e-4, 4e-4)
            .n_critic(5)
            .batch_size(64),
        digits(128),
        &[2, 1, 28, 28],
    );
}

#[test]
fn notebook_04_cgan_at_width_64() {
    // One-hot labels.
    let sizes = Budget::GPU.cgan();
    let model = DcganConfig {
        n_classes: 10,
        conditioning: Conditioning::OneHot,
        ..dcgan28(sizes.width, Norm::Batch)
    };
    trains(
        "04 cgan",
        TrainConfig::gan(model)
            .lr(2e-4, 2e-4)
            .batch_size(sizes.batch),
        digits(256),
        &[2, 1, 28, 28],
    );
}

#[test]
fn notebook_05_pix2pix_at_width_64() {
    // The U-Net at 64×64 and a one-layer PatchGAN on input + candidate.
    let sizes = Budget::GPU.pix2pix();
    let unet = UnetConfig {
        image_size: 64,
        in_channels: 1,
        out_channels: 3,
        width: sizes.width,
        dropout: 0.5,
        upsample: Upsample::Resize,
        skips: true,
    };
    let patchgan = PatchGanConfig {
        in_channels: 1 + 3,
        width: sizes.width,
        layers: 1,
    };
    trains(
        "05 pix2pix",
        TrainConfig::pix2pix(unet.clone(), patchgan.clone())
            .lr(2e-4, 2e-4)
            .batch_size(sizes.batch)
            .l1_lambda(100.0),
        edges_to_colour(64),
        &[2, 3, 64, 64],
    );
    // Super-resolution ×4: a colour input, the same networks otherwise.
    let cpu = (Kind::Float, Device::Cpu);
    let targets = (Tensor::arange(64 * 3 * 64 * 64, cpu) * 0.011)
        .cos()
        .view([64, 3, 64, 64]);
    let shrunk = PairedDataset {
        name: "shrunk".into(),
        inputs: targets
            .avg_pool2d([4, 4], [4, 4], [0, 0], false, true, None)
            .upsample_bilinear2d([64, 64], false, None, None),
        targets,
    };
    trains(
        "05 super-resolution",
        TrainConfig::pix2pix(
            UnetConfig {
                in_channels: 3,
                ..unet
            },
            PatchGanConfig {
                in_channels: 3 + 3,
                ..patchgan
            },
        )
        .lr(2e-4, 2e-4)
        .batch_size(sizes.batch)
        .l1_lambda(100.0),
        shrunk.into(),
        &[2, 3, 64, 64],
    );
}

#[test]
fn notebook_06_remedies_at_width_64() {
    // Fashion-MNIST: the runs the notebook trains (the paper's settings with EMA, the two
    // combinations its step is checked on, the fast-EMA preset; at the fast rate D without
    // normalisation and with spectral norm; small data with DiffAugment).
    let sizes = Budget::GPU.remedies();
    let model = dcgan28(sizes.width, Norm::Batch);
    let paper = TrainConfig::gan(model.clone()).batch_size(sizes.batch);
    let off = Remedies::default();
    let runs = [
        ("paper + EMA", paper.clone().ema(Some(0.999))),
        (
            "hinge + DiffAugment + EMA",
            paper
                .clone()
                .with_remedies(&Remedies {
                    hinge: true,
                    diff_augment: true,
                    ema: Some(0.999),
                    ..off
                })
                .unwrap(),
        ),
        (
            "smoothing 0.9 + DiffAugment + EMA",
            paper
                .clone()
                .with_remedies(&Remedies {
                    real_label: Some(0.9),
                    diff_augment: true,
                    ema: Some(0.999),
                    ..off
                })
                .unwrap(),
        ),
        (
            "fast-EMA",
            TrainConfig::fast_ema(model).batch_size(sizes.batch),
        ),
    ];
    for (name, config) in runs {
        trains(&format!("06 {name}"), config, digits(256), &[2, 1, 28, 28]);
    }
    // Part 4: a fast rate with D without normalisation and with spectral norm, and small data
    // with DiffAugment.
    let fast = paper.clone().lr(sizes.fast_lr, sizes.fast_lr);
    let no_norm = TrainConfig {
        model: dcgan28(sizes.width, Norm::None).into(),
        ..fast.clone()
    };
    for (name, config) in [
        ("fast lr, no normalisation", no_norm),
        (
            "fast lr, spectral norm",
            fast.with_remedies(&Remedies {
                spectral_norm: true,
                ..off
            })
            .unwrap(),
        ),
        ("few images, DiffAugment", paper.clone().diff_augment(true)),
    ] {
        trains(&format!("06 {name}"), config, digits(256), &[2, 1, 28, 28]);
    }
}
