//! Training: the adversarial step. (The trainer that lives across notebook cells, its history
//! and its checkpoints come next.)

pub mod step;

pub use step::{Discriminator, GanLoss, Generator, update_d, update_g};
