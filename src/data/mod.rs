//! Datasets: every image source of the course in one shape.
//!
//! A [`Dataset`] holds all of its images as one float tensor `[N, C, H, W]` with values in
//! [-1, 1] (the range of a `tanh` generator), its labels as int64 `[N]` where the source has
//! them, and the class names. The files come from `make` (scripts/bootstrap.sh) into `data/`;
//! nothing is downloaded at run time. See `data/README.md` for each source.
//!
//! | loader | contents |
//! | --- | --- |
//! | [`mnist`] | 10,000 real digits, 28×28 |
//! | [`fashion_mnist`] | 70,000 clothing photos, 28×28, 10 classes |
//! | [`letters`] | A–Z rendered from every installed font, augmented, 28/32/64 px |
//! | [`emoji`] | ~7,500 colour emoji, 64×64, with categories (faces: the CelebA stand-in) |
//! | [`image_folder`] | any folder of JPEG/PNG, e.g. CelebA |
//! | [`paired`] | Pix2Pix pairs: A\|B folders, edges→picture, random jitter |
//! | [`toy2d`] | ring of 8 and grid of 25 Gaussians, with mode coverage |
//! | [`unpaired`] | two sets of pictures without pairs (CycleGAN): emoji by vendor, A/B folders |
//!
//! Training takes batches with [`Dataset::epoch`]: a seeded shuffle, sent to the device once per
//! epoch, then one `index_select` per batch on the device.

pub mod emoji;
pub mod fashion_mnist;
pub mod image_folder;
pub mod letters;
pub mod mnist;
pub mod paired;
pub mod toy2d;
pub mod unpaired;

use std::path::PathBuf;

use anyhow::Result;
use rand::Rng;
use rand::seq::SliceRandom;
use tch::{Device, Kind, Tensor};

/// Which part of a source: the split is fixed and documented per source, and never overlaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    /// `"train"` or `"test"`, as dataset names show it.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    /// Whether item `index` belongs to this split when every `every`-th item (index % every ==
    /// every − 1) is kept for testing.
    pub(crate) fn holds(self, index: usize, every: usize) -> bool {
        (index % every == every - 1) == (self == Split::Test)
    }

    /// The items of this split, in order, when every `every`-th item is kept for testing.
    pub(crate) fn pick<T>(self, items: impl IntoIterator<Item = T>, every: usize) -> Vec<T> {
        items
            .into_iter()
            .enumerate()
            .filter(|(i, _)| self.holds(*i, every))
            .map(|(_, item)| item)
            .collect()
    }
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
        anyhow::ensure!(
            !self.class_names.is_empty() && k > 0,
            "{} names no classes (class_names is empty) or k = 0: nothing to show",
            self.name
        );
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

    /// Another handle on the same images and labels, without copying them: a trainer takes its
    /// data by value, so several trainers of one notebook share one loaded dataset this way.
    /// (The images are read, never written, by training.)
    pub fn share(&self) -> Dataset {
        Dataset {
            name: self.name.clone(),
            images: self.images.shallow_clone(),
            labels: self.labels.as_ref().map(Tensor::shallow_clone),
            class_names: self.class_names.clone(),
        }
    }

    /// The first `n` images (fewer if the dataset is smaller), e.g. to look at them.
    pub fn head(&self, n: usize) -> Tensor {
        self.images.narrow(0, 0, n.min(self.len()) as i64)
    }

    /// One epoch of shuffled mini-batches, in an order drawn from `rng` (same seed, same
    /// batches). The shuffled order is sent to the device once per epoch; each batch is then an
    /// `index_select` on the device, with no copy from the host. The last, incomplete batch is
    /// dropped (`drop_last`): batch norm and the fixed-size loss targets want full batches.
    pub fn epoch(&self, batch_size: usize, rng: &mut impl Rng) -> Result<Batches> {
        anyhow::ensure!(batch_size > 0, "batch size must be at least 1, got 0");
        anyhow::ensure!(
            batch_size <= self.len(),
            "batch size {batch_size} is larger than {} ({} images): choose at most {}",
            self.name,
            self.len(),
            self.len()
        );
        let mut order: Vec<i64> = (0..self.len() as i64).collect();
        order.shuffle(rng);
        Ok(Batches {
            images: self.images.shallow_clone(),
            labels: self.labels.as_ref().map(Tensor::shallow_clone),
            order: Tensor::from_slice(&order).to_device(self.device()),
            batch_size: batch_size as i64,
            next: 0,
        })
    }

    /// A grid of `n` images drawn at random over the dataset, the same ones every time (a fixed
    /// seed of its own, so torch's random state is left alone), enlarged ×2 when they are small.
    /// Sources are often sorted (by class, or by font then letter), so the first `n`, or every
    /// `len / n`-th, would show one kind.
    pub fn grid(&self, n: usize) -> Result<crate::viz::ImageGrid> {
        anyhow::ensure!(
            n > 0 && !self.is_empty(),
            "grid needs at least one image to show"
        );
        let n = n.min(self.len());
        let index = sample_indices(self.len(), n, 0);
        let images = self
            .images
            .index_select(0, &Tensor::from_slice(&index).to_device(self.device()));
        let per_row = crate::viz::square_columns(n);
        let scale = if self.image_shape()[1] <= 32 { 2 } else { 1 };
        crate::viz::image_grid(&images, per_row, scale)
    }

    /// One row per class, named, `k` images each, in label order (see [`Dataset::per_class`]).
    pub fn class_grid(&self, k: usize) -> Result<crate::viz::ImageGrid> {
        let scale = if self.image_shape()[1] <= 32 { 2 } else { 1 };
        Ok(crate::viz::image_grid(&self.per_class(k)?, k, scale)?.row_labels(&self.class_names))
    }

    /// A subset by index (e.g. to take a fixed sample to look at or to score).
    pub fn select(&self, index: &Tensor) -> Dataset {
        let index = index.to_device(self.device());
        Dataset {
            name: self.name.clone(),
            images: self.images.index_select(0, &index),
            labels: self.labels.as_ref().map(|l| l.index_select(0, &index)),
            class_names: self.class_names.clone(),
        }
    }
}

/// A mini-batch: images `[B, C, H, W]` and, for labelled data, labels `[B]`.
#[derive(Debug)]
pub struct Batch {
    pub images: Tensor,
    pub labels: Option<Tensor>,
}

/// The batches of one epoch (see [`Dataset::epoch`]).
#[derive(Debug)]
pub struct Batches {
    images: Tensor,
    labels: Option<Tensor>,
    order: Tensor,
    batch_size: i64,
    next: i64,
}

impl Iterator for Batches {
    type Item = Batch;

    fn next(&mut self) -> Option<Batch> {
        if self.next + self.batch_size > self.order.size()[0] {
            return None;
        }
        let index = self.order.narrow(0, self.next, self.batch_size);
        self.next += self.batch_size;
        Some(Batch {
            images: self.images.index_select(0, &index),
            labels: self.labels.as_ref().map(|l| l.index_select(0, &index)),
        })
    }
}

impl ExactSizeIterator for Batches {
    fn len(&self) -> usize {
        ((self.order.size()[0] - self.next) / self.batch_size) as usize
    }
}

/// The folder holding the installed data files (kept with the file helpers, so that the
/// pictures' fonts can be found from below this module).
pub use crate::files::data_dir;

/// Maps pixel values from [0, 1] to [-1, 1].
pub(crate) fn unit_to_symmetric(images: Tensor) -> Tensor {
    images.to_kind(Kind::Float) * 2.0 - 1.0
}

/// The error for a data file that setup should have installed.
pub(crate) fn missing_file(path: &std::path::Path, what: &str) -> anyhow::Error {
    let dir = data_dir();
    if std::env::var_os("GANS_DATA_DIR").is_some_and(|d| !d.is_empty()) && !dir.is_dir() {
        return anyhow::anyhow!(
            "{what} not found: GANS_DATA_DIR is set to {}, which is not a folder. Set it to the \
             folder that `make data` filled, or unset it to use the repository's data/",
            dir.display()
        );
    }
    anyhow::anyhow!(
        "{what} not found: {} does not exist. Run `make data` in the repository (or `make test`, \
         which installs it too), or set GANS_DATA_DIR to a folder that holds it",
        path.display()
    )
}

/// The most pixels gans decodes for one picture: 50 megapixels (a 45-megapixel camera's
/// photo fits). A picture's header may claim any size (a "decompression bomb" claims 100,000 ×
/// 100,000 pixels in a few kilobytes), so the size is read and checked before decoding.
pub(crate) const MAX_PIXELS: u64 = 50_000_000;

/// The most memory the pictures being decoded at one moment may take together, on all threads:
/// a picture waits for its turn while the others would take more.
const DECODING_BUDGET: u64 = 1 << 30;

/// The memory decoding a `width × height` picture takes at most: up to 8 bytes a pixel decoded
/// (16-bit RGBA), then 4 for the 8-bit RGBA copy made from it.
fn decoding_cost(width: u32, height: u32) -> u64 {
    width as u64 * height as u64 * 12
}

/// Decodes the picture at `path` and hands it to `with`, after checking its size from its
/// header ([`MAX_PIXELS`]) and while holding its share of [`DECODING_BUDGET`], which is given
/// back once `with` returns. The error is a reason to skip the file, in words.
pub(crate) fn with_picture<T>(
    path: &std::path::Path,
    with: impl FnOnce(image::DynamicImage) -> std::result::Result<T, String>,
) -> std::result::Result<T, String> {
    use std::sync::{Condvar, Mutex};
    static IN_USE: Mutex<u64> = Mutex::new(0);
    static FREED: Condvar = Condvar::new();
    let open = || {
        image::ImageReader::open(path)
            .map_err(|e| format!("cannot open: {e}"))?
            .with_guessed_format()
            .map_err(|e| format!("cannot read: {e}"))
    };
    let (width, height) = open()?
        .into_dimensions()
        .map_err(|e| format!("not a readable image: {e}"))?;
    let pixels = width as u64 * height as u64;
    if pixels > MAX_PIXELS {
        let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
        // A real photo takes at least about a byte for every 100 pixels.
        let bomb = match bytes * 100 < pixels {
            true => format!(
                " (its header claims that size in a file of {} KB: a decompression bomb)",
                bytes.div_ceil(1000)
            ),
            false => String::new(),
        };
        return Err(format!(
            "{width}×{height} pixels ({:.0} megapixels) is more than gans decodes for one picture \
             ({} megapixels, which take up to {} MB to decode){bomb}: shrink it first, or remove \
             it",
            pixels as f64 / 1e6,
            MAX_PIXELS / 1_000_000,
            decoding_cost(1, MAX_PIXELS as u32) / 1_000_000
        ));
    }
    let cost = decoding_cost(width, height);
    let lock = |m: &'static Mutex<u64>| m.lock().unwrap_or_else(|p| p.into_inner());
    {
        let mut in_use = lock(&IN_USE);
        while *in_use > 0 && *in_use + cost > DECODING_BUDGET {
            in_use = FREED.wait(in_use).unwrap_or_else(|p| p.into_inner());
        }
        *in_use += cost;
    }
    // Given back however this ends (an error, or a panic that `read_parallel` catches).
    struct Share(u64);
    impl Drop for Share {
        fn drop(&mut self) {
            *IN_USE.lock().unwrap_or_else(|p| p.into_inner()) -= self.0;
            FREED.notify_all();
        }
    }
    let _share = Share(cost);
    let mut reader = open()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(cost);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => format!(
            "decoding it would take more memory than its {width}×{height} pixels need (more \
             than {} MB): the file is damaged or made to exhaust memory; remove it",
            cost / 1_000_000
        ),
        e => format!("not a readable image: {e}"),
    })?;
    with(image)
}

/// Reads image files on all cores. `read` turns a path into a value or a reason to skip it;
/// the results keep the order of `paths`.
pub(crate) fn read_parallel<T: Send>(
    paths: &[PathBuf],
    read: impl Fn(&std::path::Path) -> std::result::Result<T, String> + Sync,
) -> Vec<std::result::Result<T, String>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(paths.len().max(1));
    let chunk = paths.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(chunk)
            .map(|part| {
                scope.spawn(|| {
                    // A decoder that panics on a damaged file skips that file, with the reason,
                    // instead of taking the whole load down.
                    let one = |p: &PathBuf| {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(p)))
                            .unwrap_or_else(|_| Err("the image decoder crashed on it".into()))
                    };
                    part.iter().map(one).collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .zip(paths.chunks(chunk))
            .flat_map(|(w, part)| {
                w.join().unwrap_or_else(|_| {
                    part.iter()
                        .map(|_| Err("a reader thread stopped".into()))
                        .collect()
                })
            })
            .collect()
    })
}

/// `n` distinct indices below `len`, drawn by a partial Fisher–Yates shuffle driven by
/// SplitMix64 from `seed`: the same for the same arguments on every machine.
pub(crate) fn sample_indices(len: usize, n: usize, seed: u64) -> Vec<i64> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut all: Vec<i64> = (0..len as i64).collect();
    let n = n.min(len);
    for i in 0..n {
        let j = i + (next() % (len - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(n);
    all
}

/// A fresh, empty folder for one test's fixture files, unique to this process.
#[cfg(test)]
pub(crate) fn test_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gans-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a test folder under the temp dir");
    dir
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn a_shared_dataset_is_the_same_storage() {
        let data = Dataset {
            name: "t".into(),
            images: Tensor::zeros([4, 1, 2, 2], (tch::Kind::Float, Device::Cpu)),
            labels: Some(Tensor::arange(4, (tch::Kind::Int64, Device::Cpu))),
            class_names: vec!["a".into(); 4],
        };
        let shared = data.share();
        assert_eq!(shared.images.data_ptr(), data.images.data_ptr());
        assert_eq!(
            shared.labels.as_ref().map(Tensor::data_ptr),
            data.labels.as_ref().map(Tensor::data_ptr)
        );
        assert_eq!((shared.name.as_str(), shared.len()), ("t", 4));
    }

    /// The grid's picks are distinct, repeatable and spread over a sorted dataset: 64 of 2,600
    /// images sorted into 26 runs of 100 (fonts × letters) touch most runs, where every 40th
    /// image would have hit each run in the same place.
    #[test]
    fn grid_picks_a_fixed_random_subset() {
        let picks = sample_indices(2600, 64, 0);
        assert_eq!(picks, sample_indices(2600, 64, 0));
        let mut distinct = picks.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 64);
        assert!(picks.iter().all(|&i| (0..2600).contains(&i)));
        let runs: std::collections::BTreeSet<i64> = picks.iter().map(|i| i / 100).collect();
        assert!(runs.len() >= 20, "{} runs of 26", runs.len());
        let offsets: std::collections::BTreeSet<i64> = picks.iter().map(|i| i % 100).collect();
        assert!(
            offsets.len() > 40,
            "offsets within a run vary: {}",
            offsets.len()
        );
        assert_eq!(sample_indices(3, 10, 0).len(), 3);
        assert!(numbered(100).grid(16).is_ok());
    }

    fn numbered(n: i64) -> Dataset {
        Dataset {
            name: "numbers".into(),
            images: Tensor::arange(n, (Kind::Float, Device::Cpu)).view([n, 1, 1, 1]),
            labels: Some(Tensor::arange(n, (Kind::Int64, Device::Cpu))),
            class_names: vec![],
        }
    }

    fn firsts(data: &Dataset, seed: u64) -> Vec<i64> {
        let mut rng = StdRng::seed_from_u64(seed);
        data.epoch(4, &mut rng)
            .unwrap()
            .map(|b| b.labels.unwrap().int64_value(&[0]))
            .collect()
    }

    #[test]
    fn epochs_are_seeded_shuffles_without_repeats() {
        let data = numbered(10);
        let mut rng = StdRng::seed_from_u64(1);
        let batches: Vec<Batch> = data.epoch(4, &mut rng).unwrap().collect();
        assert_eq!(
            batches.len(),
            2,
            "10 images in batches of 4: the last 2 are dropped"
        );
        let mut seen: Vec<i64> = batches
            .iter()
            .flat_map(|b| Vec::<i64>::try_from(b.labels.as_ref().unwrap()).unwrap())
            .collect();
        // Images and labels stay paired.
        let pixels: Vec<f32> = batches
            .iter()
            .flat_map(|b| Vec::<f32>::try_from(b.images.view([-1])).unwrap())
            .collect();
        assert!(seen.iter().zip(&pixels).all(|(&l, &p)| l as f32 == p));
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 8, "no image twice in one epoch");
        assert_eq!(
            firsts(&data, 5),
            firsts(&data, 5),
            "same seed, same batches"
        );
        assert_ne!(
            firsts(&data, 5),
            firsts(&data, 6),
            "another seed, another order"
        );
    }

    #[test]
    fn bad_batch_sizes_are_named() {
        let data = numbered(10);
        let mut rng = StdRng::seed_from_u64(1);
        let err = data.epoch(0, &mut rng).unwrap_err().to_string();
        assert!(err.contains("at least 1"), "{err}");
        let err = data.epoch(11, &mut rng).unwrap_err().to_string();
        assert!(
            err.contains("batch size 11") && err.contains("at most 10"),
            "{err}"
        );
    }
}
