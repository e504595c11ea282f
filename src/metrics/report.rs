//! Every score of a generator at once, each beside the floor real data reaches.

use anyhow::{Result, ensure};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tch::{Kind, Tensor};

use super::{Classifier, Coverage, Kid, coverage, frechet_distance, kid, label_accuracy};
use crate::data::Dataset;
use crate::train::Trainer;

/// A generator's scores against the test split, with the real-vs-real floor beside each.
#[derive(Debug, Clone)]
pub struct Scores {
    /// Samples scored (and test images compared with; the floor uses as many training images).
    pub n: usize,
    /// Fréchet distance of the samples' features to the test split's.
    pub fd: f64,
    /// The same for `n` training images: what a perfect generator would get.
    pub fd_floor: f64,
    pub kid: Kid,
    pub kid_floor: Kid,
    /// Classes of the samples.
    pub coverage: Coverage,
    /// Classes of `n` training images, for comparison.
    pub real_coverage: Coverage,
    /// A conditional model: share of samples classified as the label they were asked for.
    pub label_accuracy: Option<f64>,
}

impl std::fmt::Display for Scores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} samples against {} test images", self.n, self.n)?;
        writeln!(
            f,
            "  Fréchet distance {:.2} (real data: {:.2})",
            self.fd, self.fd_floor
        )?;
        writeln!(f, "  KID {} (real data: {})", self.kid, self.kid_floor)?;
        write!(
            f,
            "  coverage: {} (real data: {})",
            self.coverage, self.real_coverage
        )?;
        if let Some(accuracy) = self.label_accuracy {
            write!(f, "\n  label accuracy {:.1} %", 100.0 * accuracy)?;
        }
        Ok(())
    }
}

impl Scores {
    /// The scores as a table in a notebook (the cell's last expression shows it too).
    pub fn evcxr_display(&self) {
        let classes =
            |c: &Coverage| format!("{} of {}", c.histogram.len() - c.missing, c.histogram.len());
        let mut rows = vec![
            (
                "Fréchet distance (lower is better)".to_string(),
                format!("{:.2}", self.fd),
                format!("{:.2}", self.fd_floor),
            ),
            (
                "KID".into(),
                self.kid.to_string(),
                self.kid_floor.to_string(),
            ),
            (
                "classes present".into(),
                classes(&self.coverage),
                classes(&self.real_coverage),
            ),
            (
                "classifier score".into(),
                format!("{:.2}", self.coverage.classifier_score),
                format!("{:.2}", self.real_coverage.classifier_score),
            ),
            (
                format!(
                    "confidently classified (p ≥ {})",
                    super::coverage::CONFIDENT
                ),
                format!("{:.0} %", 100.0 * self.coverage.confident),
                format!("{:.0} %", 100.0 * self.real_coverage.confident),
            ),
        ];
        if let Some(accuracy) = self.label_accuracy {
            rows.push((
                "label accuracy".into(),
                format!("{:.1} %", 100.0 * accuracy),
                "".into(),
            ));
        }
        let body: String = rows
            .iter()
            .map(|(name, model, real)| {
                format!("<tr><td>{name}</td><td>{model}</td><td>{real}</td></tr>")
            })
            .collect();
        let html = format!(
            "<table><thead><tr><th>{} samples</th><th>generator</th><th>real data</th></tr>\
             </thead><tbody>{body}</tbody></table>",
            self.n
        );
        crate::viz::display_in_notebook("text/html", &html);
    }
}

impl Trainer {
    /// Scores `n` samples against `test` with the course classifier of the training data
    /// ([`classifier::for_data`](super::classifier::for_data)), beside the floor of as many
    /// training images: [`evaluate`] without choosing the classifier yourself.
    pub fn evaluate(&self, test: &Dataset, n: usize) -> Result<Scores> {
        let train = self.data().images()?;
        let classifier =
            super::classifier::for_data(&train.name, &train.image_shape(), self.device())?;
        evaluate(self, &classifier, train, test, n)
    }
}

/// `n` images of `data` picked by a seeded shuffle.
fn subset(data: &Dataset, n: usize, seed: u64) -> Tensor {
    let mut index: Vec<i64> = (0..data.len() as i64).collect();
    index.shuffle(&mut StdRng::seed_from_u64(seed));
    index.truncate(n);
    data.images
        .index_select(0, &Tensor::from_slice(&index).to_device(data.device()))
}

/// Scores `samples` `[N, C, H, W]` (with the `labels` they were asked for, for a cGAN) against
/// `test`, and `N` images of `train` against `test` as the floor. `N` is capped at the test size.
pub fn score_samples(
    classifier: &Classifier,
    samples: &Tensor,
    labels: Option<&Tensor>,
    train: &Dataset,
    test: &Dataset,
) -> Result<Scores> {
    ensure!(
        samples.dim() == 4,
        "score_samples needs images [N, C, H, W], got {:?}",
        samples.size()
    );
    if let Some(labels) = labels {
        ensure!(
            labels.size() == [samples.size()[0]],
            "score_samples needs one label per sample: {} samples, labels {:?}",
            samples.size()[0],
            labels.size()
        );
    }
    let n = (samples.size()[0] as usize)
        .min(test.len())
        .min(train.len());
    ensure!(
        n >= 50,
        "scoring needs at least 50 samples and test images, got {n}"
    );
    let samples = samples.narrow(0, 0, n as i64);
    let real_test = subset(test, n, 1);
    let real_train = subset(train, n, 2);
    let (fake, test_f, train_f) = (
        classifier.features(&samples)?,
        classifier.features(&real_test)?,
        classifier.features(&real_train)?,
    );
    let subset_size = (n / 2).min(1000); // subsets smaller than the set, so their spread means something
    Ok(Scores {
        n,
        fd: frechet_distance(&fake, &test_f)?,
        fd_floor: frechet_distance(&train_f, &test_f)?,
        kid: kid(&fake, &test_f, 10, subset_size, 0)?,
        kid_floor: kid(&train_f, &test_f, 10, subset_size, 0)?,
        coverage: coverage(&classifier.probabilities(&samples)?)?,
        real_coverage: coverage(&classifier.probabilities(&real_train)?)?,
        label_accuracy: match labels {
            Some(labels) => Some(label_accuracy(
                classifier,
                &samples,
                &labels.narrow(0, 0, n as i64),
            )?),
            None => None,
        },
    })
}

/// Draws `n` samples from a trainer's generator in batches of 500 (a cGAN: labels cycling
/// through the classes) and scores them with [`score_samples`].
pub fn evaluate(
    trainer: &Trainer,
    classifier: &Classifier,
    train: &Dataset,
    test: &Dataset,
    n: usize,
) -> Result<Scores> {
    // Only as many samples as are scored (the test split's size caps them).
    let n = n.min(test.len()).min(train.len());
    let (samples, labels) = samples_with_labels(trainer, n)?;
    score_samples(classifier, &samples, labels.as_ref(), train, test)
}

/// `n` samples in batches of 500, and for a conditional model the labels asked for (`i mod K`).
pub fn samples_with_labels(trainer: &Trainer, n: usize) -> Result<(Tensor, Option<Tensor>)> {
    let classes = trainer.config().model.n_classes();
    let latent_dim = trainer.config().model.latent_dim().ok_or_else(|| {
        anyhow::anyhow!("a Pix2Pix model is scored with metrics::image, not evaluate")
    })?;
    ensure!(n > 0, "samples_with_labels(trainer, n) needs n ≥ 1, got 0");
    let device = trainer.device();
    let mut parts = Vec::new();
    let mut all_labels = Vec::new();
    let mut done = 0;
    while done < n {
        let b = 500.min(n - done) as i64;
        let z = Tensor::randn([b, latent_dim], (Kind::Float, device));
        let labels = (classes > 0)
            .then(|| (Tensor::arange(b, (Kind::Int64, device)) + done as i64).remainder(classes));
        parts.push(trainer.generate_from(&z, labels.as_ref())?);
        all_labels.extend(labels);
        done += b as usize;
    }
    let labels = (!all_labels.is_empty()).then(|| Tensor::cat(&all_labels, 0));
    Ok((Tensor::cat(&parts, 0), labels))
}
