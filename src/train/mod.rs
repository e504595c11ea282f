//! Training: the adversarial step ([`update_d`], [`update_g`]), the hyperparameters
//! ([`TrainConfig`]), the [`Trainer`] that lives across notebook cells with its [`History`] and
//! snapshots, checkpoints for exact resume, and the figures a learner watches.

pub mod augment;
mod checkpoint;
mod config;
mod data;
mod history;
mod round;
mod sample;
pub mod step;
mod trainer;
mod views;

pub use checkpoint::CheckpointMeta;
pub use config::{ModelConfig, Remedies, TrainConfig, lr_of};
pub use data::{DataInfo, TrainData};
pub use history::{History, smooth};
pub use round::{Round, standard_step};
pub use sample::Statistics;
pub use step::{
    DExtras, DStep, Discriminator, GStep, GanLoss, Generator, update_d, update_d_with, update_g,
};
pub use trainer::{Diverged, Snapshot, Trainer};
pub use views::{Interpolation, interpolate};
