//! Datasets: every image source of the course in one shape.
//!
//! A [`Dataset`] holds all of its images as one float tensor `[N, C, H, W]` with values in
//! [-1, 1] (the range of a `tanh` generator), its labels as int64 `[N]` where the source has
//! them, and the class names. The files come from `make` (scripts/bootstrap.sh) into `data/`;
//! nothing is downloaded at run time. See `data/README.md` for each source.

pub mod mnist;

use std::path::PathBuf;

use tch::{Device, Kind, Tensor};

/// Which part of a source: the split is fixed and documented per source, and never overlaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// A whole dataset, resident on one device.
#[derive(Debug)]
pub struct Dataset {
    /// Short name, e.g. `mnist/train`.
    pub name: String,
    /// `[N, C, H, W]`, float, values in [-1, 1].
    pub images: Tensor,
    /// `[N]`, int64 class indices, when the source is labelled.
    pub labels: Option<Tensor>,
    /// Names of the classes, index = label.
    pub class_names: Vec<String>,
}

impl Dataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.images.size()[0] as usize
    }

    /// True when the dataset has no image.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `[C, H, W]` of one image.
    pub fn image_shape(&self) -> [i64; 3] {
        let s = self.images.size();
        [s[1], s[2], s[3]]
    }

    /// The device the tensors live on.
    pub fn device(&self) -> Device {
        self.images.device()
    }

    /// Moves images and labels to `device` (a no-op when they are already there).
    pub fn to_device(self, device: Device) -> Self {
        Dataset {
            images: self.images.to_device(device),
            labels: self.labels.map(|l| l.to_device(device)),
            ..self
        }
    }

    /// The first `k` images of every class, class after class: `[classes × k, C, H, W]`.
    /// Shown with `image_grid(&images, k, …)` it gives one row per class.
    pub fn per_class(&self, k: usize) -> anyhow::Result<Tensor> {
        let labels = self.labels.as_ref().ok_or_else(|| {
            anyhow::anyhow!("{} has no labels, so it has no classes to show", self.name)
        })?;
        let mut rows = Vec::with_capacity(self.class_names.len());
        for (class, name) in self.class_names.iter().enumerate() {
            let index = labels.eq(class as i64).nonzero().view([-1]);
            anyhow::ensure!(
                index.size()[0] >= k as i64,
                "{} has {} images of class {class} ({name}), fewer than the {k} asked for",
                self.name,
                index.size()[0]
            );
            rows.push(self.images.index_select(0, &index.narrow(0, 0, k as i64)));
        }
        Ok(Tensor::cat(&rows, 0))
    }

    /// The first `n` images (fewer if the dataset is smaller), e.g. to look at them.
    pub fn head(&self, n: usize) -> Tensor {
        self.images.narrow(0, 0, n.min(self.len()) as i64)
    }
}

/// The folder holding the installed data files: `$GANS_DATA_DIR` if set, else this crate's `data/`.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("GANS_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data"),
    }
}

/// Maps pixel values from [0, 1] to [-1, 1].
pub(crate) fn unit_to_symmetric(images: Tensor) -> Tensor {
    images.to_kind(Kind::Float) * 2.0 - 1.0
}

/// The error for a data file that setup should have installed.
pub(crate) fn missing_file(path: &std::path::Path, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{what} not found: {} does not exist. Run `make data` in the repository (or `make test`, \
         which installs it too), or set GANS_DATA_DIR to a folder that holds it",
        path.display()
    )
}
