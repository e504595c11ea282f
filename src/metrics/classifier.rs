//! The feature network behind every image metric: a small CNN classifier per labelled dataset.
//!
//! FID uses Inception-v3 trained on ImageNet; those weights cannot be fetched offline, and digits
//! are far from ImageNet anyway. So the crate trains its own classifier on each dataset's
//! training split (a minute or less on a CPU), reports its test accuracy, and caches it under
//! `data/classifiers/`. Its 128 penultimate activations are the features the Fréchet distance
//! and KID compare; its class probabilities give coverage, the classifier score and a cGAN's
//! label accuracy. Scores from different feature networks are not comparable: these are
//! "FID-like", not FID.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use tch::nn::{self, Module, ModuleT, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::data::Dataset;

/// Bump when the architecture or the training recipe changes: cached classifiers with another
/// version are retrained.
const VERSION: u32 = 1;
/// Width of the feature vector.
pub const FEATURES: i64 = 128;

/// What a cached classifier was trained on and how well it does.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClassifierMeta {
    pub version: u32,
    pub dataset: String,
    pub image_shape: [i64; 3],
    pub class_names: Vec<String>,
    /// Identifies the training data (size and a checksum of the pixels): other data, retrain.
    pub fingerprint: String,
    pub epochs: usize,
    pub test_accuracy: f64,
    pub train_seconds: f64,
}

#[derive(Debug)]
struct Net {
    conv: Vec<nn::Conv2D>,
    bn: Vec<nn::BatchNorm>,
    fc1: nn::Linear,
    fc2: nn::Linear,
}

impl Net {
    fn new(p: nn::Path, channels: i64, n_classes: i64) -> Net {
        let conv_config = nn::ConvConfig {
            padding: 1,
            ..Default::default()
        };
        let widths = [channels, 16, 32, 64];
        let conv = (0..3)
            .map(|i| {
                nn::conv2d(
                    &p / format!("conv{}", i + 1),
                    widths[i],
                    widths[i + 1],
                    3,
                    conv_config,
                )
            })
            .collect();
        let bn = (0..3)
            .map(|i| {
                nn::batch_norm2d(
                    &p / format!("bn{}", i + 1),
                    widths[i + 1],
                    Default::default(),
                )
            })
            .collect();
        Net {
            conv,
            bn,
            fc1: nn::linear(&p / "fc1", 64 * 4 * 4, FEATURES, Default::default()),
            fc2: nn::linear(&p / "fc2", FEATURES, n_classes, Default::default()),
        }
    }

    /// Images `[B, C, S, S]` in [-1, 1] → features `[B, 128]` (after ReLU).
    fn features(&self, images: &Tensor, train: bool) -> Tensor {
        let mut xs = images.shallow_clone();
        for (i, (conv, bn)) in self.conv.iter().zip(&self.bn).enumerate() {
            xs = bn.forward_t(&conv.forward(&xs), train).relu(); // [B, 16|32|64, …]
            if i < 2 {
                xs = xs.max_pool2d_default(2); // S → S/2 → S/4
            }
        }
        let xs = xs.adaptive_avg_pool2d([4, 4]).flatten(1, -1); // [B, 1024]
        self.fc1.forward(&xs).relu().dropout(0.3, train) // [B, 128]
    }

    fn logits(&self, images: &Tensor, train: bool) -> Tensor {
        self.fc2.forward(&self.features(images, train))
    }
}

/// A trained classifier and its features.
#[derive(Debug)]
pub struct Classifier {
    _vs: nn::VarStore,
    net: Net,
    pub meta: ClassifierMeta,
}

/// Size, shape and a checksum of the pixels and labels: cheap, and different for other data.
fn fingerprint(data: &Dataset) -> String {
    let pixels = data.images.to_kind(Kind::Double);
    let weights =
        Tensor::arange(data.len() as i64, (Kind::Double, data.device())).remainder(97.0) + 1.0;
    let per_image = pixels
        .flatten(1, -1)
        .sum_dim_intlist(1, false, Kind::Double);
    let checksum = (per_image * &weights).sum(Kind::Double).double_value(&[]);
    let labels = data
        .labels
        .as_ref()
        .map(|l| l.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]))
        .unwrap_or(0.0);
    format!(
        "{}x{:?}:{checksum:.6e}:{labels}",
        data.len(),
        data.image_shape()
    )
}

/// Where the classifier for `name` is cached: `data/classifiers/<name>.safetensors` and `.json`.
pub fn cache_paths(name: &str) -> (PathBuf, PathBuf) {
    let dir = crate::data::data_dir().join("classifiers");
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        dir.join(format!("{stem}.safetensors")),
        dir.join(format!("{stem}.json")),
    )
}

impl Classifier {
    /// The classifier for `name`, loaded from the cache when it was trained on this very `train`
    /// data with this version of the recipe; otherwise trained now (printing what it does),
    /// measured on `test`, and cached.
    pub fn cached(
        name: &str,
        train: &Dataset,
        test: &Dataset,
        epochs: usize,
    ) -> Result<Classifier> {
        let (weights, meta_path) = cache_paths(name);
        let wanted = (
            VERSION,
            train.name.clone(),
            fingerprint(train),
            train.class_names.clone(),
        );
        if let Some(classifier) = Self::load(&weights, &meta_path, train.device())? {
            let m = &classifier.meta;
            if (
                m.version,
                m.dataset.clone(),
                m.fingerprint.clone(),
                m.class_names.clone(),
            ) == wanted
            {
                return Ok(classifier);
            }
            // Not eprintln!, which panics when stderr is closed (`gans eval … 2>&- `).
            let _ = writeln!(
                std::io::stderr(),
                "gans: the cached classifier {} is stale (other data or recipe): retraining",
                weights.display()
            );
        }
        let classifier = Self::train(train, test, epochs, 0)?;
        classifier.save(&weights, &meta_path)?;
        let _ = writeln!(
            std::io::stderr(),
            "gans: trained the {name} classifier in {:.0} s, test accuracy {:.2} %, cached in {}",
            classifier.meta.train_seconds,
            100.0 * classifier.meta.test_accuracy,
            weights.display()
        );
        Ok(classifier)
    }

    fn load(weights: &Path, meta_path: &Path, device: Device) -> Result<Option<Classifier>> {
        if !weights.exists() || !meta_path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(meta_path)
            .with_context(|| format!("reading {}", meta_path.display()))?;
        let Ok(meta) = serde_json::from_str::<ClassifierMeta>(&text) else {
            return Ok(None); // an older or damaged file: retrain rather than fail
        };
        let mut vs = nn::VarStore::new(device);
        let net = Net::new(
            vs.root() / "classifier",
            meta.image_shape[0],
            meta.class_names.len() as i64,
        );
        if vs.load(weights).is_err() {
            return Ok(None);
        }
        Ok(Some(Classifier { _vs: vs, net, meta }))
    }

    fn save(&self, weights: &Path, meta_path: &Path) -> Result<()> {
        let dir = weights.parent().context("cache path has no folder")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        // The temporary name is this process's and this call's (two tests in one process may
        // train the same classifier at once).
        crate::files::replace_atomically(weights, |temp| Ok(self._vs.save(temp)?))?;
        crate::files::write_atomic(
            meta_path,
            serde_json::to_string_pretty(&self.meta)?.as_bytes(),
        )
    }

    /// Trains a fresh classifier: Adam 1e-3, batch 128, `epochs` passes, each batch shifted by a
    /// random offset of up to 2 pixels (a cheap augmentation that matters for the 9,000 MNIST
    /// digits).
    pub fn train(train: &Dataset, test: &Dataset, epochs: usize, seed: u64) -> Result<Classifier> {
        let labels = train
            .labels
            .as_ref()
            .with_context(|| format!("{} has no labels: a classifier needs them", train.name))?;
        ensure!(
            test.image_shape() == train.image_shape() && test.class_names == train.class_names,
            "{} and {} differ in image shape or classes",
            train.name,
            test.name
        );
        let classes = train.class_names.len() as i64;
        for data in [train, test] {
            let labels = data
                .labels
                .as_ref()
                .with_context(|| format!("{} has no labels", data.name))?;
            ensure!(
                classes > 0
                    && !data.is_empty()
                    && labels.kind() == tch::Kind::Int64
                    && labels.size() == [data.len() as i64],
                "{}: a classifier needs class names and int64 labels [{}], one per image; got {} \
                 classes and labels {:?} {:?}",
                data.name,
                data.len(),
                classes,
                labels.kind(),
                labels.size()
            );
            let (low, high) = (labels.min().int64_value(&[]), labels.max().int64_value(&[]));
            ensure!(
                low >= 0 && high < classes,
                "{}: labels must lie in 0..{classes}, got {low} to {high}",
                data.name
            );
        }
        let start = Instant::now();
        crate::seed(seed);
        let device = train.device();
        let vs = nn::VarStore::new(device);
        let [channels, _, _] = train.image_shape();
        let net = Net::new(
            vs.root() / "classifier",
            channels,
            train.class_names.len() as i64,
        );
        let mut opt = nn::Adam::default().build(&vs, 1e-3)?;
        let mut rng = StdRng::seed_from_u64(seed);
        for _ in 0..epochs {
            for batch in train.epoch(128, &mut rng)? {
                let shift = Tensor::randint_low(-2, 3, [2], (Kind::Int64, Device::Cpu));
                let (dy, dx) = (shift.int64_value(&[0]), shift.int64_value(&[1]));
                let images = (batch.images + 1.0).roll([dy, dx], [2, 3]) - 1.0; // shift in [0, 2], fill by wrap
                let loss = net
                    .logits(&images, true)
                    .cross_entropy_for_logits(batch.labels.as_ref().unwrap_or(labels));
                opt.backward_step(&loss);
            }
        }
        let mut classifier = Classifier {
            _vs: vs,
            net,
            meta: ClassifierMeta {
                version: VERSION,
                dataset: train.name.clone(),
                image_shape: train.image_shape(),
                class_names: train.class_names.clone(),
                fingerprint: fingerprint(train),
                epochs,
                test_accuracy: 0.0,
                train_seconds: 0.0,
            },
        };
        classifier.meta.test_accuracy = classifier.accuracy(test)?;
        classifier.meta.train_seconds = start.elapsed().as_secs_f64();
        Ok(classifier)
    }

    fn batched(&self, images: &Tensor, f: impl Fn(&Tensor) -> Tensor) -> Result<Tensor> {
        let [_, c, h, w]: [i64; 4] = images
            .size()
            .try_into()
            .map_err(|_| anyhow::anyhow!("images must be [N, C, H, W], got {:?}", images.size()))?;
        ensure!(
            [c, h, w] == self.meta.image_shape,
            "the {} classifier reads images of shape {:?}, not {:?}",
            self.meta.dataset,
            self.meta.image_shape,
            [c, h, w]
        );
        let device = self.net.fc1.ws.device();
        tch::no_grad(|| {
            let parts: Vec<Tensor> = images
                .split(500, 0)
                .iter()
                .map(|part| f(&part.to_device(device).to_kind(Kind::Float)))
                .collect();
            Ok(Tensor::cat(&parts, 0))
        })
    }

    /// Images smaller than the classifier reads (the 32×32 emoji of a CPU run), upsampled
    /// (bilinear) to its side; any other images as they are. Every set compared by one
    /// classifier goes through it alike.
    pub fn fit(&self, images: Tensor) -> Tensor {
        let [channels, side, _] = self.meta.image_shape;
        if images.size()[2] < side && images.size()[1] == channels {
            images
                .upsample_bilinear2d([side, side], false, None, None)
                .clamp(-1.0, 1.0)
        } else {
            images
        }
    }

    /// Penultimate features `[N, 128]` of images in [-1, 1].
    pub fn features(&self, images: &Tensor) -> Result<Tensor> {
        self.batched(images, |x| self.net.features(x, false))
    }

    /// Class probabilities `[N, classes]`.
    pub fn probabilities(&self, images: &Tensor) -> Result<Tensor> {
        self.batched(images, |x| {
            self.net.logits(x, false).softmax(-1, Kind::Float)
        })
    }

    /// Predicted classes `[N]`.
    pub fn predict(&self, images: &Tensor) -> Result<Tensor> {
        Ok(self.probabilities(images)?.argmax(-1, false))
    }

    /// Share of `data`'s images whose class is predicted right.
    pub fn accuracy(&self, data: &Dataset) -> Result<f64> {
        let labels = data
            .labels
            .as_ref()
            .with_context(|| format!("{} has no labels", data.name))?;
        label_accuracy(self, &data.images, labels)
    }
}

/// The MNIST classifier (8 epochs over the 8,995 training digits), cached.
pub fn mnist(device: Device) -> Result<Classifier> {
    use crate::data::{Split, mnist};
    Classifier::cached(
        "mnist",
        &mnist::load(Split::Train, device)?,
        &mnist::load(Split::Test, device)?,
        8,
    )
}

/// The Fashion-MNIST classifier (6 epochs over 60,000 images), cached.
pub fn fashion_mnist(device: Device) -> Result<Classifier> {
    use crate::data::{Split, fashion_mnist};
    Classifier::cached(
        "fashion-mnist",
        &fashion_mnist::load(Split::Train, device)?,
        &fashion_mnist::load(Split::Test, device)?,
        6,
    )
}

/// The letters classifier (6 epochs; tested on fonts it never saw), cached.
pub fn letters(device: Device) -> Result<Classifier> {
    use crate::data::Split;
    use crate::data::letters::{self, LetterOptions};
    let options = LetterOptions::default();
    Classifier::cached(
        "letters",
        &letters::load(Split::Train, &options, device)?,
        &letters::load(Split::Test, &options, device)?,
        6,
    )
}

/// The emoji category classifier (all emoji, 64×64 RGB, 10 categories; 6 epochs), cached.
pub fn emoji(device: Device) -> Result<Classifier> {
    use crate::data::Split;
    use crate::data::emoji::{self, EmojiOptions};
    let options = EmojiOptions::default();
    Classifier::cached(
        "emoji",
        &emoji::load(Split::Train, &options, device)?,
        &emoji::load(Split::Test, &options, device)?,
        6,
    )
}

/// Which of the course's classifiers scores a dataset, by the dataset's name and example shape:
/// MNIST, Fashion-MNIST, the 28×28 letters, the 64×64 emoji (also for 32×32 emoji, which
/// [`super::report::score_samples`] upsamples); `None` for any other. The one list: the trainer's
/// `evaluate` and `gans eval` both read it.
pub fn course_classifier(name: &str, shape: &[i64]) -> Option<&'static str> {
    let family = name.split('/').next().unwrap_or(name);
    match (family, shape) {
        ("mnist", [1, 28, 28]) => Some("mnist"),
        ("fashion-mnist", [1, 28, 28]) => Some("fashion-mnist"),
        ("letters", [1, 28, 28]) => Some("letters"),
        ("emoji", [3, 64, 64] | [3, 32, 32]) => Some("emoji"),
        _ => None,
    }
}

/// The course classifier for a dataset (see [`course_classifier`]), trained and cached on first
/// use. An error naming the four for any other dataset.
pub fn for_data(name: &str, shape: &[i64], device: Device) -> Result<Classifier> {
    match course_classifier(name, shape) {
        Some("mnist") => mnist(device),
        Some("fashion-mnist") => fashion_mnist(device),
        Some("letters") => letters(device),
        Some("emoji") => emoji(device),
        _ => anyhow::bail!(
            "the course has no classifier for {name} {shape:?}: it has one for MNIST, \
             Fashion-MNIST, letters (28×28) and emoji (64×64, or 32×32 upsampled). Train one with \
             Classifier::train(&train, &test, epochs, seed) and call gans::metrics::evaluate"
        ),
    }
}

/// Share of `images` the classifier assigns to `labels` (a cGAN's samples with the labels asked for).
pub fn label_accuracy(classifier: &Classifier, images: &Tensor, labels: &Tensor) -> Result<f64> {
    ensure!(
        images.dim() == 4 && labels.size() == [images.size()[0]],
        "label_accuracy needs one label per image: images {:?}, labels {:?}",
        images.size(),
        labels.size()
    );
    let predicted = classifier.predict(images)?;
    Ok(predicted
        .eq_tensor(&labels.to_device(predicted.device()))
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[]))
}

/// [`label_accuracy`] class by class: for each class asked for (in order, named as the
/// classifier names them), the share of its images the classifier assigns to it. A class never
/// asked for is left out.
pub fn label_accuracy_by_class(
    classifier: &Classifier,
    images: &Tensor,
    labels: &Tensor,
) -> Result<Vec<(String, f64)>> {
    ensure!(
        images.dim() == 4 && labels.size() == [images.size()[0]],
        "label_accuracy_by_class needs one label per image: images {:?}, labels {:?}",
        images.size(),
        labels.size()
    );
    let predicted = Vec::<i64>::try_from(classifier.predict(images)?.to_device(Device::Cpu))?;
    let asked = Vec::<i64>::try_from(labels.to_device(Device::Cpu).to_kind(Kind::Int64))?;
    let names = &classifier.meta.class_names;
    let mut out = Vec::new();
    for (class, name) in names.iter().enumerate() {
        let of_class: Vec<bool> = asked
            .iter()
            .zip(&predicted)
            .filter(|(a, _)| **a == class as i64)
            .map(|(a, p)| a == p)
            .collect();
        if !of_class.is_empty() {
            let right = of_class.iter().filter(|&&r| r).count();
            out.push((name.clone(), right as f64 / of_class.len() as f64));
        }
    }
    Ok(out)
}

impl ModuleT for Net {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.logits(xs, train)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dataset without a course classifier is refused by name, with the four that have one.
    #[test]
    fn no_classifier_for_other_data_is_a_clear_error() {
        for (name, shape) in [("emoji/faces/train", [3, 48, 48]), ("celeba", [3, 64, 64])] {
            let err = for_data(name, &shape, Device::Cpu).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains("Fashion-MNIST"), "{err}");
        }
    }

    /// One list says which classifier scores which data, for the trainer and for `gans eval`
    /// alike: the 32×32 emoji (upsampled) too, which `gans eval` once refused.
    #[test]
    fn the_course_classifiers_by_data() {
        let cases: [(&str, &[i64], Option<&str>); 7] = [
            ("mnist/train", &[1, 28, 28], Some("mnist")),
            ("fashion-mnist/train", &[1, 28, 28], Some("fashion-mnist")),
            ("letters/train", &[1, 28, 28], Some("letters")),
            ("letters/train", &[1, 64, 64], None),
            ("emoji/all/train", &[3, 64, 64], Some("emoji")),
            ("emoji/faces/train", &[3, 32, 32], Some("emoji")),
            ("folder/celeba", &[3, 64, 64], None),
        ];
        for (name, shape, expected) in cases {
            assert_eq!(course_classifier(name, shape), expected, "{name} {shape:?}");
        }
    }

    /// Each class's share is counted over the images asked for that class only, named by the
    /// classifier's class names; a class never asked for is left out.
    #[test]
    fn label_accuracy_is_split_by_class() {
        let cpu = (Kind::Float, tch::Device::Cpu);
        // Class "dark" is black, class "light" white: a classifier learns that at once.
        let images = Tensor::cat(
            &[
                Tensor::full([128, 1, 28, 28], -1.0, cpu),
                Tensor::full([128, 1, 28, 28], 1.0, cpu),
            ],
            0,
        );
        let labels = Tensor::cat(
            &[
                Tensor::zeros([128], (Kind::Int64, tch::Device::Cpu)),
                Tensor::ones([128], (Kind::Int64, tch::Device::Cpu)),
            ],
            0,
        );
        let data = Dataset {
            name: "shades".into(),
            images: images.shallow_clone(),
            labels: Some(labels),
            class_names: vec!["dark".into(), "light".into(), "never".into()],
        };
        let c = Classifier::train(&data, &data, 3, 0).unwrap();
        assert!(c.accuracy(&data).unwrap() > 0.99);
        // Asked for "dark": 4 black (right) and 4 white (wrong); asked for "light": 4 white.
        let white = Tensor::full([8, 1, 28, 28], 1.0, cpu);
        let asked = Tensor::from_slice(&[0i64, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
        let shown = Tensor::cat(&[images.narrow(0, 0, 4), white], 0);
        let by_class = label_accuracy_by_class(&c, &shown, &asked).unwrap();
        assert_eq!(
            by_class,
            [("dark".to_string(), 0.5), ("light".to_string(), 1.0)]
        );
    }

    /// Labels that are not int64 class numbers in range are refused before any training (they
    /// were a panic in the cross-entropy).
    #[test]
    fn labels_that_cannot_train_are_refused() {
        let cpu = (Kind::Float, tch::Device::Cpu);
        let data = |labels: Tensor| Dataset {
            name: "tiny".into(),
            images: Tensor::zeros([8, 1, 28, 28], cpu),
            labels: Some(labels),
            class_names: vec!["a".into(), "b".into()],
        };
        let good = Tensor::arange(8, (Kind::Int64, tch::Device::Cpu)).remainder(2);
        for (labels, said) in [
            (good.to_kind(Kind::Int), "int64 labels [8]"),
            (&good + 5, "must lie in 0..2"),
        ] {
            let err = Classifier::train(&data(labels), &data(good.shallow_clone()), 1, 0)
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains(said), "{err}");
        }
    }
}
