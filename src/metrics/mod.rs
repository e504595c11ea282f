//! Measuring GANs instead of eyeballing them, offline.
//!
//! - [`classifier`]: the feature network, a small CNN per labelled dataset, trained by the crate
//!   and cached under `data/classifiers/` (no pretrained Inception can be downloaded here).
//! - [`distance`]: the Fréchet distance (FID's formula) and KID on those features.
//! - [`coverage`]: which classes the samples fall into; the classifier score; label accuracy.
//! - [`image`]: Pix2Pix outputs against their targets: L1, PSNR, SSIM, and the sharpness,
//!   saturation and checkerboard energy the adversarial term is for.
//! - [`export`]: samples as a NumPy `.npy` array, to score them with other tools.
//! - [`overfitting`]: D's verdicts on its training reals against held-out reals.
//! - [`report`]: every score of a generator at once, each beside its real-data floor.
//!
//! Every distance is reported beside its **floor**: the same distance between two independent
//! real samples of the same size (train subset vs test split). A model cannot beat the floor;
//! how far above it lies is the score.

pub mod classifier;
pub mod coverage;
pub mod distance;
pub mod export;
pub mod image;
pub mod overfitting;
pub mod report;

pub use classifier::{Classifier, ClassifierMeta, label_accuracy, label_accuracy_by_class};
pub use coverage::{Coverage, coverage};
pub use distance::{Kid, frechet_distance, inside_manifold, kid, precision_recall};
pub use export::{NpyWriter, save_npy, save_npy_batches};
pub use report::{
    Fidelity, Scores, batches, evaluate, sample_batches, samples_with_labels,
    samples_with_labels_by, score_samples,
};
