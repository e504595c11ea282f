//! # gans: Generative Adversarial Networks, in Rust, by running them
//!
//! The support crate of the course. The notebooks in `notebooks/` tell the story and call this
//! crate for everything reusable; the `gans` command runs the same code without Jupyter.
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`files`] | writing files atomically: a kill never leaves one half-written |
//! | [`device`] | CUDA or CPU, loading libtorch's CUDA backend, seeding |
//! | [`precision`] | bf16 mixed precision: the crate's own autocast and the layers that read it |
//! | [`optim`] | Adam and RMSprop with saveable state (exact resume) |
//! | [`viz`] | image grids and charts that display inline in a notebook and save to files |
//! | [`losses`] | minimax and non-saturating BCE, Wasserstein, gradient penalty, L1, hinge, R1 |
//! | [`game`] | what a generator, a discriminator, a loss and a model are |
//! | [`data`] | the datasets, as `[N, C, H, W]` tensors in [-1, 1] on the training device |
//! | [`models`] | MLP, DCGAN, U-Net and PatchGAN networks, the DCGAN paper's init |
//! | [`train`] | the adversarial step (`update_d`, `update_g`), `TrainConfig`, the `Trainer` that lives across cells, history, checkpoints, figures |
//! | [`metrics`] | feature classifiers, Fréchet distance, KID, coverage, translation scores |
//! | [`budget`] | each notebook's sizes for a CPU, a GPU and the smoke runs of `make test` |
//!
//! Imports go downwards only: a module uses only those above it in this table, and no two files
//! import each other, directly or in a circle (`scripts/check_imports.py`, run by `make lint`,
//! checks both). So `game` knows no model and `models` knows no trainer. The `gans` command's own
//! code (run folders, datasets by name, progress bars) lives in `src/bin/gans/`, outside the
//! library.
//!
//! ## Glossary (the same names everywhere)
//! `latent_dim`: size of the noise vector `z` fed to the generator. `batch_size`: images per step.
//! `lr_g`, `lr_d`: learning rates of the generator and of the discriminator (or critic).
//! `n_critic`: discriminator steps per generator step. `real`: a batch of data; `fake`: a batch
//! from the generator. `loss_d`, `loss_g`: the two players' losses. `generator`, `discriminator`
//! (`critic` in a WGAN, whose output is a score, not a probability).
//!
//! In a notebook: `:dep gans = { path = "..", default-features = false }` then
//! `use gans::prelude::*;` (the default `cli` feature is only for the `gans` command).

pub mod budget;
pub mod data;
pub mod device;
pub mod files;
pub mod game;
pub mod losses;
pub mod metrics;
pub mod models;
pub mod optim;
pub mod precision;
pub mod train;
pub mod viz;

pub use device::{cuda_available, device, seed};

/// Everything a notebook needs in one `use gans::prelude::*;`.
pub mod prelude {
    pub use crate::budget::{
        BasicGanSizes, Budget, CganSizes, CycleGanSizes, DcganSizes, Pix2PixSizes, RemedySizes,
        WganSizes,
    };
    pub use crate::data::emoji::{self, EmojiOptions, Vendor};
    pub use crate::data::image_folder::{self, FolderOptions};
    pub use crate::data::letters::{self, LetterOptions};
    pub use crate::data::paired::{self, Direction, PairedDataset};
    pub use crate::data::toy2d::{self, ModeReport, Toy2d, Toy2dKind};
    pub use crate::data::unpaired::{self, UnpairedDataset};
    pub use crate::data::{self, Batch, Dataset, Split, fashion_mnist, mnist};
    pub use crate::device::{cuda_available, describe, device, parse_device, seed};
    pub use crate::models::cyclegan::CycleGanConfig;
    pub use crate::models::dcgan::DcganConfig;
    pub use crate::models::mlp::{MlpConfig, MlpFlavour};
    pub use crate::models::patchgan::PatchGanConfig;
    pub use crate::models::pix2pix::Pix2PixConfig;
    pub use crate::models::toy::ToyConfig;
    pub use crate::models::unet::{UnetConfig, Upsample};
    pub use crate::models::{Conditioning, Norm};
    pub use crate::precision::Precision;
    pub use crate::train::{
        GanLoss, History, Interpolation, LinearDecay, ModelConfig, Remedies, Round, TrainConfig,
        Trainer,
    };
    pub use crate::viz::{ImageGrid, LineChart, compare, image_grid};
    pub use crate::{check, check_full, gpu_sized};
    pub use anyhow::{Context, Result};
    pub use tch::{self, Device, Kind, Tensor};
}

/// The smoke-test switch: `GANS_SMOKE=1` (set by `make test`) asks notebooks and examples for the
/// smallest run that still exercises every line, so that the whole course runs in minutes.
pub fn smoke() -> bool {
    std::env::var("GANS_SMOKE").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Whether a notebook picks its GPU-sized settings (wider models, 64×64 colour images, longer
/// runs): on a CUDA GPU, or anywhere with `GANS_GPU_SIZED=1`. `make test` sets both switches for
/// a second smoke pass, so those paths run on every CPU too (with smoke-sized step counts).
/// An explicit `GANS_GPU_SIZED=0` asks for the CPU-sized settings even on a GPU.
pub fn gpu_sized() -> bool {
    match std::env::var("GANS_GPU_SIZED") {
        Ok(v) if !v.is_empty() => v != "0",
        _ => device::cuda_available(),
    }
}

/// A claim of the lesson, checked against the run: prints `✓ claim` when `holds`, and returns
/// an error `✗ claim` (which fails the notebook cell, and `make test`) when not.
///
/// ```
/// let (d_real, d_fake) = (0.71, 0.29);
/// gans::check(d_real > d_fake, format!("D(x) {d_real:.2} > D(G(z)) {d_fake:.2}")).unwrap();
/// ```
pub fn check(holds: bool, claim: impl std::fmt::Display) -> anyhow::Result<()> {
    if holds {
        println!("✓ {claim}");
        Ok(())
    } else {
        anyhow::bail!(
            "✗ {claim}: this run does not show what the text says. Did a hyperparameter cell \
             change? Re-run from the top, or read the text with this number in mind"
        )
    }
}

/// [`check`] for a claim that needs the full run (a step count the smoke run of `make test`
/// does not reach): checked on a real run; on a smoke run it prints `· not checked on a smoke
/// run: claim`.
pub fn check_full(holds: bool, claim: impl std::fmt::Display) -> anyhow::Result<()> {
    if smoke() {
        println!("· not checked on a smoke run: {claim}");
        Ok(())
    } else {
        check(holds, claim)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_claim_that_fails_is_an_error_that_names_it() {
        assert!(super::check(true, "D wins").is_ok());
        let err = super::check(false, "3 of 8 modes").unwrap_err().to_string();
        assert!(err.starts_with("✗ 3 of 8 modes"), "{err}");
    }
}
