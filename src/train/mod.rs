//! Training: the adversarial step ([`update_d`], [`update_g`]), the hyperparameters
//! ([`TrainConfig`]), the [`Trainer`] that lives across notebook cells with its [`History`] and
//! snapshots, checkpoints for exact resume, and the figures a learner watches.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `step` | one D update and one G update, as functions of the players and a batch |
//! | `round` | [`Round`], what a step function sees, and [`standard_step`], the crate's step |
//! | `trainer` | [`Trainer`]: the loop over rounds, snapshots, the public face |
//! | `players` | [`Players`]: every network, the optimisers of both sides, the moving average |
//! | `ema` | the moving average of G's weights |
//! | `batches` | the real batches in their shuffled order, the fixed snapshot input |
//! | `seeds` | one seed split into streams, so that a resumed run draws what it would have |
//! | `health` | the history window, [`Diverged`] and the checks of losses and weights |
//! | `history` | [`History`], the recorded numbers, and their charts |
//! | `progress`, `summary` | the live line; what a trainer holds, layer by layer |
//! | `keep`, `kept` | a trainer that saves itself into a folder and picks up there after a stop |
//! | `live`, `redraw` | the view that redraws while a notebook cell trains |
//! | `sample`, `views` | pictures from the generator; grids, GIFs and charts of a run |
//! | `checkpoint` | save and load, exactly |
//! | `config`, `data`, `augment` | [`TrainConfig`]; what a trainer learns from; DiffAugment |
//! | `registry` | the course's models by name, with their papers' settings and presets |

pub mod augment;
mod batches;
mod checkpoint;
mod config;
pub mod cycle;
mod data;
mod ema;
mod health;
mod history;
mod keep;
mod kept;
mod live;
mod players;
mod progress;
mod redraw;
pub mod registry;
mod round;
mod sample;
mod seeds;
pub mod step;
mod summary;
mod trainer;
mod views;

pub use crate::game::{Discriminator, GanLoss, Generator};
pub use checkpoint::{CheckpointMeta, json_differences};
pub use config::{LinearDecay, MAX_STEPS, ModelConfig, Remedies, TrainConfig, lr_of};
pub use data::{DataInfo, TrainData};
pub use health::Diverged;
pub use history::{History, smooth};
pub use live::LiveView;
pub use players::Players;
pub use round::{Round, standard_step};
pub use step::{DRegularization, DUpdate, GUpdate, update_d, update_g};
pub use trainer::{Snapshot, Statistics, Trainer};
pub use views::{Interpolation, interpolate};
