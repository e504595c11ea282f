//! Every score of a generator at once, each beside the floor real data reaches.

use anyhow::{Result, ensure};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tch::{Kind, Tensor};

use super::{
    Classifier, Coverage, Kid, coverage, frechet_distance, kid, label_accuracy,
    label_accuracy_by_class,
};
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
    /// Precision, recall and the readable share of the samples against the test split.
    pub fidelity: Fidelity,
    /// The same for `n` training images.
    pub fidelity_floor: Fidelity,
    /// A conditional model: share of samples classified as the label they were asked for.
    pub label_accuracy: Option<f64>,
    /// A conditional model: the same, class by class (the class's name and its share); empty
    /// for an unconditional one.
    pub label_accuracy_by_class: Vec<(String, f64)>,
}

/// How many samples look like real images in the classifier's features, and how much of the
/// real data they reach: improved precision and recall (Kynkäänniemi et al., 2019, with the
/// paper's k = 3), and the share that is both confidently classified and inside the real
/// manifold. A classifier can be sure of a grey blotch (its confidence is only about which class
/// wins); a blotch's features lie far from every real image's, so it is not counted readable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fidelity {
    /// Share of samples inside the real images' manifold.
    pub precision: f64,
    /// Share of real images inside the samples' manifold.
    pub recall: f64,
    /// Share of samples confidently classified (p ≥ 0.9) and inside the real manifold.
    pub readable: f64,
}

/// The `k` of the manifold's balls.
pub const MANIFOLD_K: i64 = 3;

impl Fidelity {
    /// The scores of `fake` features (and their class probabilities) against `real` features.
    pub fn of(fake: &Tensor, probabilities: &Tensor, real: &Tensor) -> Result<Fidelity> {
        use super::distance::{inside_manifold, share};
        let inside = inside_manifold(fake, real, MANIFOLD_K)?;
        let confident = super::coverage::confident_mask(probabilities).to_device(inside.device());
        Ok(Fidelity {
            precision: share(&inside),
            recall: share(&inside_manifold(real, fake, MANIFOLD_K)?),
            readable: share(&inside.logical_and(&confident)),
        })
    }
}

impl std::fmt::Display for Fidelity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "precision {:.0} %, recall {:.0} %, readable {:.0} %",
            100.0 * self.precision,
            100.0 * self.recall,
            100.0 * self.readable
        )
    }
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
        write!(
            f,
            "\n  {} (real data: {})",
            self.fidelity, self.fidelity_floor
        )?;
        if let Some(accuracy) = self.label_accuracy {
            write!(f, "\n  label accuracy {:.1} %", 100.0 * accuracy)?;
        }
        if !self.label_accuracy_by_class.is_empty() {
            write!(f, "\n  by class: {}", self.by_class())?;
        }
        Ok(())
    }
}

impl Scores {
    /// The label accuracy of each class, "name 97 %", in class order.
    pub fn by_class(&self) -> String {
        self.label_accuracy_by_class
            .iter()
            .map(|(name, share)| format!("{name} {:.0} %", 100.0 * share))
            .collect::<Vec<_>>()
            .join(", ")
    }

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
            (
                "precision: samples among real images".into(),
                format!("{:.0} %", 100.0 * self.fidelity.precision),
                format!("{:.0} %", 100.0 * self.fidelity_floor.precision),
            ),
            (
                "recall: real images the samples reach".into(),
                format!("{:.0} %", 100.0 * self.fidelity.recall),
                format!("{:.0} %", 100.0 * self.fidelity_floor.recall),
            ),
            (
                "readable: confident and among real images".into(),
                format!("{:.0} %", 100.0 * self.fidelity.readable),
                format!("{:.0} %", 100.0 * self.fidelity_floor.readable),
            ),
        ];
        if let Some(accuracy) = self.label_accuracy {
            rows.push((
                "label accuracy".into(),
                format!("{:.1} %", 100.0 * accuracy),
                "".into(),
            ));
        }
        if !self.label_accuracy_by_class.is_empty() {
            rows.push(("label accuracy by class".into(), self.by_class(), "".into()));
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

/// Several runs' scores side by side: one row per run (Fréchet distance, KID, classes present,
/// precision, recall and the readable share, seconds of training), and the real data's floor
/// last. Notebook 06's ablation table.
#[derive(Debug, Default)]
pub struct ScoreTable {
    rows: Vec<(String, Scores, f64)>,
}

impl ScoreTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a run: its name, its scores and how long it trained. A run of a name already in
    /// the table replaces that row in place (a notebook cell that trains on and scores again).
    pub fn add(&mut self, name: impl Into<String>, scores: Scores, seconds: f64) {
        let name = name.into();
        match self.rows.iter_mut().find(|(n, _, _)| *n == name) {
            Some(row) => *row = (name, scores, seconds),
            None => self.rows.push((name, scores, seconds)),
        }
    }

    /// The scores of the run called `name`.
    pub fn get(&self, name: &str) -> Option<&Scores> {
        self.rows
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, s, _)| s)
    }

    /// The table's cells: a header, one row per run, the floor.
    fn cells(&self) -> Vec<Vec<String>> {
        let classes =
            |c: &Coverage| format!("{}/{}", c.histogram.len() - c.missing, c.histogram.len());
        let mut cells = vec![vec![
            "run".to_string(),
            "Fréchet distance".into(),
            "KID".into(),
            "classes".into(),
            "precision".into(),
            "recall".into(),
            "readable".into(),
            "training".into(),
        ]];
        for (name, s, seconds) in &self.rows {
            cells.push(vec![
                name.clone(),
                format!("{:.2}", s.fd),
                format!("{:.3}", s.kid.mean),
                classes(&s.coverage),
                format!("{:.0} %", 100.0 * s.fidelity.precision),
                format!("{:.0} %", 100.0 * s.fidelity.recall),
                format!("{:.0} %", 100.0 * s.fidelity.readable),
                format!("{seconds:.0} s"),
            ]);
        }
        if let Some((_, s, _)) = self.rows.first() {
            cells.push(vec![
                "real data (the floor)".into(),
                format!("{:.2}", s.fd_floor),
                format!("{:.3}", s.kid_floor.mean),
                classes(&s.real_coverage),
                format!("{:.0} %", 100.0 * s.fidelity_floor.precision),
                format!("{:.0} %", 100.0 * s.fidelity_floor.recall),
                format!("{:.0} %", 100.0 * s.fidelity_floor.readable),
                String::new(),
            ]);
        }
        cells
    }

    /// The table as markdown.
    pub fn to_markdown(&self) -> String {
        let cells = self.cells();
        let mut text = String::new();
        for (i, row) in cells.iter().enumerate() {
            text += &format!("| {} |\n", row.join(" | "));
            if i == 0 {
                text += &format!("| --- |{}\n", " ---: |".repeat(row.len() - 1));
            }
        }
        text
    }

    /// The table in a notebook.
    pub fn evcxr_display(&self) {
        let cells = self.cells();
        let row = |tag: &str, r: &[String]| {
            let inner: String = r.iter().map(|c| format!("<{tag}>{c}</{tag}>")).collect();
            format!("<tr>{inner}</tr>")
        };
        let body: String = cells[1..].iter().map(|r| row("td", r)).collect();
        let html = format!(
            "<table><thead>{}</thead><tbody>{body}</tbody></table>",
            row("th", &cells[0])
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
/// Images smaller than the classifier reads are upsampled (bilinear) to its side, samples and
/// real images alike.
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
    // Images smaller than the classifier's (the 32×32 emoji of a CPU run) are scored upsampled
    // to its side, all three sets the same way, so the comparison stays fair.
    let fit = |images: Tensor| classifier.fit(images);
    let samples = fit(samples.narrow(0, 0, n as i64));
    let real_test = fit(subset(test, n, 1));
    let real_train = fit(subset(train, n, 2));
    let (fake, test_f, train_f) = (
        classifier.features(&samples)?,
        classifier.features(&real_test)?,
        classifier.features(&real_train)?,
    );
    let subset_size = (n / 2).min(1000); // subsets smaller than the set, so their spread means something
    let (fake_p, train_p) = (
        classifier.probabilities(&samples)?,
        classifier.probabilities(&real_train)?,
    );
    Ok(Scores {
        n,
        fd: frechet_distance(&fake, &test_f)?,
        fd_floor: frechet_distance(&train_f, &test_f)?,
        kid: kid(&fake, &test_f, 10, subset_size, 0)?,
        kid_floor: kid(&train_f, &test_f, 10, subset_size, 0)?,
        coverage: coverage(&fake_p)?,
        real_coverage: coverage(&train_p)?,
        fidelity: Fidelity::of(&fake, &fake_p, &test_f)?,
        fidelity_floor: Fidelity::of(&train_f, &train_p, &test_f)?,
        label_accuracy: match labels {
            Some(labels) => Some(label_accuracy(
                classifier,
                &samples,
                &labels.narrow(0, 0, n as i64),
            )?),
            None => None,
        },
        label_accuracy_by_class: match labels {
            Some(labels) => {
                label_accuracy_by_class(classifier, &samples, &labels.narrow(0, 0, n as i64))?
            }
            None => Vec::new(),
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
    samples_with_labels_by(trainer, n, 500)
}

/// [`samples_with_labels`] drawn `batch` at a time (the same samples as [`sample_batches`]
/// hands out with that `batch`).
pub fn samples_with_labels_by(
    trainer: &Trainer,
    n: usize,
    batch: usize,
) -> Result<(Tensor, Option<Tensor>)> {
    let mut parts = Vec::new();
    let mut all_labels = Vec::new();
    sample_batches(trainer, n, batch, |images, labels| {
        parts.push(images);
        all_labels.extend(labels);
        Ok(())
    })?;
    let labels = (!all_labels.is_empty()).then(|| Tensor::cat(&all_labels, 0));
    Ok((Tensor::cat(&parts, 0), labels))
}

/// The batches `(start, len)` that cover `n` items `size` at a time, the last one shorter:
/// `batches(600, 256)` gives (0, 256), (256, 256), (512, 88). A `size` of 0 counts as 1.
pub fn batches(n: usize, size: usize) -> impl Iterator<Item = (usize, usize)> {
    let size = size.max(1);
    (0..n)
        .step_by(size)
        .map(move |start| (start, size.min(n - start)))
}

/// `n` samples drawn `batch` at a time, each batch handed to `each` with its labels (for a
/// conditional model, `i mod K` for sample `i`) before the next is drawn: only one batch is in
/// memory at once (`gans sample` streams a `.npy` file this way).
pub fn sample_batches(
    trainer: &Trainer,
    n: usize,
    batch: usize,
    mut each: impl FnMut(Tensor, Option<Tensor>) -> Result<()>,
) -> Result<()> {
    let classes = trainer.config().model.n_classes();
    let latent_dim = trainer.config().model.latent_dim().ok_or_else(|| {
        anyhow::anyhow!("a Pix2Pix model is scored with metrics::image, not evaluate")
    })?;
    ensure!(n > 0, "samples_with_labels(trainer, n) needs n ≥ 1, got 0");
    let device = trainer.device();
    for (start, len) in batches(n, batch) {
        let b = len as i64;
        let z = Tensor::randn([b, latent_dim], (Kind::Float, device));
        let labels = (classes > 0)
            .then(|| (Tensor::arange(b, (Kind::Int64, device)) + start as i64).remainder(classes));
        let images = trainer.generate_from(&z, labels.as_ref())?;
        each(images, labels)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Kid;

    fn scores(fd: f64, missing: usize) -> Scores {
        let coverage = |missing: usize| Coverage {
            histogram: vec![0.1; 10],
            kl_to_uniform: 0.0,
            missing,
            classifier_score: 5.0,
            confident: 0.5,
        };
        Scores {
            n: 100,
            fd,
            fd_floor: 1.25,
            kid: Kid {
                mean: 0.5,
                std: 0.1,
            },
            kid_floor: Kid {
                mean: 0.01,
                std: 0.01,
            },
            coverage: coverage(missing),
            real_coverage: coverage(0),
            fidelity: Fidelity {
                precision: 0.5,
                recall: 0.25,
                readable: 0.13,
            },
            fidelity_floor: Fidelity {
                precision: 0.75,
                recall: 0.75,
                readable: 0.5,
            },
            label_accuracy: None,
            label_accuracy_by_class: Vec::new(),
        }
    }

    #[test]
    fn the_score_table_has_a_row_per_run_and_the_floor_last() {
        let mut table = ScoreTable::new();
        table.add("paper", scores(23.875, 0), 108.4);
        table.add("EMA", scores(12.5, 1), 110.0);
        let text = table.to_markdown();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(
            lines[2].starts_with("| paper | 23.88 | 0.500 | 10/10 | 50 % | 25 % | 13 % | 108 s |"),
            "{text}"
        );
        assert!(lines[3].contains("| 9/10 |"), "{text}");
        assert!(
            lines[4].starts_with("| real data (the floor) | 1.25 | 0.010 |"),
            "{text}"
        );
        assert_eq!(table.get("EMA").map(|s| s.fd), Some(12.5));
        assert!(table.get("nothing").is_none());
    }

    #[test]
    fn a_run_scored_again_replaces_its_row() {
        let mut table = ScoreTable::new();
        table.add("paper", scores(23.875, 0), 108.4);
        table.add("EMA", scores(12.5, 1), 110.0);
        table.add("paper", scores(20.0, 0), 216.0);
        let text = table.to_markdown();
        assert_eq!(text.lines().count(), 5, "{text}");
        assert!(
            text.lines()
                .nth(2)
                .is_some_and(|l| l.starts_with("| paper | 20.00 |")),
            "{text}"
        );
        assert_eq!(table.get("paper").map(|s| s.fd), Some(20.0));
    }
}
