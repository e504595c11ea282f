//! What a learner looks at while a run trains: each method returns one figure (one figure per
//! notebook cell, see [`crate::viz`]) that also saves itself to a file for the CLI.

use anyhow::{Context, Result, ensure};
use tch::{Kind, Tensor};

use super::data::TrainData;
use super::progress::thousands;
use super::trainer::Trainer;
use crate::data::toy2d::ModeReport;
use crate::viz::captioned;
use crate::viz::{Animation, ImageGrid, LineChart, compare, image_grid};

/// How to walk from one noise vector to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    /// The straight line `(1 − t)·z₀ + t·z₁`. Its midpoints have a smaller norm than a typical
    /// z (‖z‖ ≈ √latent_dim for a Gaussian), so they can look washed out.
    Lerp,
    /// Along the great circle (White, 2016, *Sampling Generative Networks*):
    /// `sin((1 − t)Ω)/sin Ω · z₀ + sin(tΩ)/sin Ω · z₁` with `cos Ω = ẑ₀·ẑ₁`; the norm stays typical.
    Slerp,
}

/// `steps` points from `z0` to `z1` (both `[latent_dim]`), as `[steps, latent_dim]`; an error
/// when the two are not vectors of one length.
///
/// ```
/// use gans::prelude::*;
/// use gans::train::{interpolate, Interpolation};
/// let (z0, z1) = (Tensor::from_slice(&[1.0f32, 0.0]), Tensor::from_slice(&[0.0f32, 1.0]));
/// let mid = interpolate(&z0, &z1, 3, Interpolation::Slerp)?.get(1);
/// let half = std::f64::consts::FRAC_1_SQRT_2; // 45° along the unit circle
/// assert!((mid.double_value(&[0]) - half).abs() < 1e-6 && (mid.double_value(&[1]) - half).abs() < 1e-6);
/// let mid = interpolate(&z0, &z1, 3, Interpolation::Lerp)?.get(1);
/// assert!((mid.double_value(&[0]) - 0.5).abs() < 1e-6);
/// assert!(interpolate(&z0, &Tensor::zeros([3], (Kind::Float, Device::Cpu)), 3, Interpolation::Lerp).is_err());
/// # Ok::<(), anyhow::Error>(())
/// ```
pub fn interpolate(z0: &Tensor, z1: &Tensor, steps: usize, how: Interpolation) -> Result<Tensor> {
    ensure!(
        z0.dim() == 1 && z0.size() == z1.size() && z0.size()[0] > 0,
        "interpolate walks between two noise vectors [latent_dim] of one length, got {:?} and {:?}",
        z0.size(),
        z1.size()
    );
    let z1 = &z1.to_device(z0.device());
    let device = z0.device();
    let t = Tensor::linspace(0.0, 1.0, steps.max(2) as i64, (Kind::Float, device)).unsqueeze(1); // [steps, 1]
    let (a, b) = (z0.unsqueeze(0), z1.unsqueeze(0)); // [1, latent_dim]
    let lerp = || &a * (t.ones_like() - &t) + &b * &t;
    match how {
        Interpolation::Lerp => Ok(lerp()),
        Interpolation::Slerp => {
            let cos = (z0 / z0.norm()).dot(&(z1 / z1.norm())).clamp(-1.0, 1.0);
            let omega = cos.acos().double_value(&[]);
            if omega.sin().abs() < 1e-6 {
                return Ok(lerp()); // (anti)parallel: the circle is not defined, the line is
            }
            let wa = ((t.ones_like() - &t) * omega).sin() / omega.sin();
            let wb = (&t * omega).sin() / omega.sin();
            Ok(&a * wa + &b * wb)
        }
    }
}

/// Bytes back to images in [−1, 1].
fn from_bytes(bytes: &Tensor) -> Tensor {
    bytes.to_kind(Kind::Float) / 127.5 - 1.0
}

/// Input, output and target of each pair side by side, as consecutive tiles `[3n, C, H, W]` on
/// the CPU (grey ones repeated to colour when any of the three has colour).
fn triplet_tiles(inputs: &Tensor, outputs: &Tensor, targets: &Tensor) -> Tensor {
    let cpu = |t: &Tensor| t.to_device(tch::Device::Cpu).to_kind(Kind::Float);
    let channels = [inputs, outputs, targets]
        .iter()
        .map(|t| t.size()[1])
        .max()
        .unwrap_or(1);
    let n = inputs.size()[0]
        .min(outputs.size()[0])
        .min(targets.size()[0]);
    let colour = |t: Tensor| {
        if t.size()[1] < channels {
            t.repeat([1, channels, 1, 1])
        } else {
            t
        }
    };
    let parts = [inputs, outputs, targets].map(|t| colour(cpu(&t.narrow(0, 0, n))));
    let stacked = Tensor::stack(&parts, 1); // [n, 3, C, H, W]
    let size = stacked.size();
    stacked.reshape([size[0] * 3, size[2], size[3], size[4]])
}

/// A chart's note on its smoothing: curves drawn smoothed say so, with the weight.
fn smoothed(smoothing: f64) -> String {
    match smoothing > 0.0 {
        true => format!("smoothed (EMA weight {smoothing})"),
        false => "not smoothed".into(),
    }
}

impl Trainer {
    /// The loss curves (see [`super::History`] for how to read them); for Pix2Pix, G's GAN term
    /// and L1 apart ([`super::History::pix2pix_loss_chart`]); for CycleGAN, the cycle L1 beside
    /// the losses ([`super::History::cycle_loss_chart`]).
    pub fn losses(&self, smoothing: f64) -> Result<LineChart> {
        self.ensure_history()?;
        let chart = if self.config.model.model().unpaired() {
            self.history.cycle_loss_chart(smoothing)
        } else if self.config.model.model().reconstructs() {
            self.history.pix2pix_loss_chart(
                smoothing,
                self.config.l1_lambda,
                self.config.adversarial,
            )
        } else {
            self.history.loss_chart(smoothing)
        };
        Ok(chart
            .title_suffix(&self.title())
            .title_suffix(&smoothed(smoothing)))
    }

    /// D(x) and D(G(z)), or the critic's Wasserstein estimate.
    pub fn d_chart(&self, smoothing: f64) -> Result<LineChart> {
        self.ensure_history()?;
        ensure!(
            self.config.adversarial,
            "this run has no discriminator (adversarial = false, L1 only): look at losses() instead"
        );
        let chart = self.history.d_chart(smoothing);
        // D's outputs are probabilities: the axis shows all of 0 to 1, so that 0.9 looks
        // confident and 0.5 undecided at a glance.
        let chart = match self.history.wasserstein.is_empty() {
            true => chart.y_range(0.0, 1.0),
            false => chart,
        };
        Ok(chart
            .title_suffix(&self.title())
            .title_suffix(&smoothed(smoothing)))
    }

    /// Both players' gradient norms.
    pub fn grad_chart(&self) -> Result<LineChart> {
        self.ensure_history()?;
        Ok(self.history.grad_chart().title_suffix(&self.title()))
    }

    fn ensure_history(&self) -> Result<()> {
        ensure!(
            !self.history.is_empty(),
            "no history yet: train for at least log_every = {} steps first",
            self.config.log_every
        );
        Ok(())
    }

    fn title(&self) -> String {
        format!(
            "{} on {}, {}, step {}",
            self.config.model.name(),
            self.data().info().name,
            self.config.loss.describe(),
            self.steps_done()
        )
    }

    fn per_row(&self, n: usize) -> usize {
        match self.config.model.n_classes() {
            0 => crate::viz::square_columns(n),
            classes => classes as usize,
        }
    }

    fn scale(images: &Tensor) -> u32 {
        if images.size()[2] <= 32 { 2 } else { 1 }
    }

    /// A grid of `n` new samples (a conditional model: one column per class, named).
    pub fn sample_grid(&self, n: usize) -> Result<ImageGrid> {
        let samples = self.images_only(self.sample(n)?)?;
        let grid = image_grid(&samples, self.per_row(n), Self::scale(&samples))?;
        Ok(match self.config.model.n_classes() {
            0 => grid,
            _ => grid.column_labels(self.class_names()),
        })
    }

    /// The training data's class names (numbers when it names none).
    fn class_names(&self) -> Vec<String> {
        match self.data().images() {
            Ok(d) if d.class_names.len() as i64 >= self.config.model.n_classes() => {
                d.class_names.clone()
            }
            _ => (0..self.config.model.n_classes())
                .map(|c| c.to_string())
                .collect(),
        }
    }

    /// The generator's output for the fixed noise now.
    pub fn fixed_grid(&self) -> Result<ImageGrid> {
        let samples = self.images_only(self.fixed_samples()?)?;
        image_grid(
            &samples,
            self.per_row(self.config.n_fixed),
            Self::scale(&samples),
        )
    }

    fn images_only(&self, samples: Tensor) -> Result<Tensor> {
        ensure!(
            samples.dim() == 4,
            "the toy model makes points, not images: use toy_chart(n)"
        );
        Ok(samples)
    }

    /// Every fixed-noise snapshot as one frame of a GIF (`delay_ms` per frame), at the images'
    /// own size (a GIF of 30 frames of 64 digits stays near 0.5 MB). Pix2Pix: each frame shows
    /// input | output | target for the fixed pairs, four triplets a row.
    pub fn snapshots_gif(&self, delay_ms: u32) -> Result<Animation> {
        ensure!(
            !self.snapshots.is_empty(),
            "no snapshots yet: train with snapshot_every > 0 first"
        );
        ensure!(
            !self.config.model.makes_points(),
            "the toy model's snapshots are points: show one with snapshot_chart(i)"
        );
        let frames: Vec<Tensor> = self
            .snapshots
            .iter()
            .map(|s| from_bytes(&s.samples))
            .collect();
        let captions: Vec<String> = self
            .snapshots
            .iter()
            .map(|s| format!("step {}", thousands(s.step as i64)))
            .collect();
        if let (true, Some(targets)) = (self.translates(), self.fixed.condition_or_target.as_ref())
        {
            let triplets: Vec<Tensor> = frames
                .iter()
                .map(|outputs| triplet_tiles(&self.fixed.input, outputs, targets))
                .collect();
            return captioned(
                &triplets,
                &captions,
                &[],
                12,
                Self::scale(targets),
                delay_ms,
            );
        }
        let n = frames[0].size()[0] as usize;
        let classes = self.config.model.n_classes() as usize;
        if classes > 0 && n.is_multiple_of(classes) {
            // The fixed labels cycle through the classes; shown as class_grid shows them, a
            // row per class, named on the left.
            let k = (n / classes) as i64;
            let order: Vec<i64> = (0..classes as i64)
                .flat_map(|c| (0..k).map(move |j| j * classes as i64 + c))
                .collect();
            let order = Tensor::from_slice(&order);
            let by_class: Vec<Tensor> = frames
                .iter()
                .map(|f| f.index_select(0, &order.to_device(f.device())))
                .collect();
            let names = self.class_names();
            return captioned(
                &by_class,
                &captions,
                &names,
                k as usize,
                Self::scale(&frames[0]),
                delay_ms,
            );
        }
        captioned(
            &frames,
            &captions,
            &[],
            self.per_row(n),
            Self::scale(&frames[0]),
            delay_ms,
        )
    }

    /// Toy model: snapshot `i` as a scatter over the true modes (negative `i` counts from the end).
    pub fn snapshot_chart(&self, i: isize) -> Result<LineChart> {
        let toy = self.toy()?;
        let n = self.snapshots.len() as isize;
        let index = if i < 0 { n + i } else { i };
        ensure!(
            (0..n).contains(&index),
            "snapshot {i} does not exist: there are {n} snapshots"
        );
        let snapshot = &self.snapshots[index as usize];
        toy.chart(&snapshot.samples, &format!("step {}", snapshot.step))
    }

    /// Toy model: `n` new samples as a scatter over the true modes, with the mode report.
    pub fn toy_chart(&self, n: usize) -> Result<LineChart> {
        let toy = self.toy()?;
        toy.chart(&self.sample(n)?, &format!("step {}", self.steps_done()))
    }

    /// Toy model: modes covered and high-quality share of `n` new samples.
    pub fn mode_report(&self, n: usize) -> Result<ModeReport> {
        self.toy()?.report(&self.sample(n)?)
    }

    fn toy(&self) -> Result<&crate::data::toy2d::Toy2d> {
        match self.data() {
            TrainData::Toy(toy) => Ok(toy),
            _ => anyhow::bail!("this view is for the toy 2-D model"),
        }
    }

    /// `rows` walks between random pairs of noise vectors, `steps` images each; a conditional
    /// model keeps each row's label fixed (class `row mod n_classes`).
    pub fn interpolation(
        &self,
        rows: usize,
        steps: usize,
        how: Interpolation,
    ) -> Result<ImageGrid> {
        let latent_dim = self
            .config
            .model
            .latent_dim()
            .context("Pix2Pix has no noise to interpolate")?;
        ensure!(
            rows >= 1 && steps >= 2,
            "interpolation(rows, steps, …) needs rows ≥ 1 and steps ≥ 2 (both ends), got {rows} \
             and {steps}"
        );
        let ends = Tensor::randn([rows as i64, 2, latent_dim], (Kind::Float, self.device()));
        let walks: Vec<Tensor> = (0..rows as i64)
            .map(|r| interpolate(&ends.get(r).get(0), &ends.get(r).get(1), steps, how))
            .collect::<Result<_>>()?;
        let z = Tensor::cat(&walks, 0); // [rows · steps, latent_dim]
        let labels = (self.config.model.n_classes() > 0).then(|| {
            Tensor::arange(rows as i64, (Kind::Int64, self.device()))
                .remainder(self.config.model.n_classes())
                .repeat_interleave_self_int(steps as i64, 0, None)
        });
        let images = self.images_only(self.generate_from(&z, labels.as_ref())?)?;
        image_grid(&images, steps, Self::scale(&images))
    }

    /// A conditional model: one row per class, `k` columns; column j uses the same z in every
    /// row, so reading down a column shows one "style" drawn as each class.
    pub fn class_grid(&self, k: usize) -> Result<ImageGrid> {
        let classes = self.config.model.n_classes();
        ensure!(
            classes > 0,
            "class_grid needs a conditional model (n_classes > 0)"
        );
        let latent_dim = self.config.model.latent_dim().context("no latent space")?;
        let z = Tensor::randn([k as i64, latent_dim], (Kind::Float, self.device()))
            .repeat([classes, 1]); // [classes · k, latent_dim], row-major by class
        let labels = Tensor::arange(classes, (Kind::Int64, self.device()))
            .repeat_interleave_self_int(k as i64, 0, None);
        let images = self.generate_from(&z, Some(&labels))?;
        Ok(image_grid(&images, k, Self::scale(&images))?.row_labels(self.class_names()))
    }

    /// A conditional model: `rows` noise vectors, each walked from class `from` to class `to`
    /// in `steps` columns by blending the two labels (soft labels, see
    /// [`crate::models::LabelCode::code`]); the first column is pure `from`, the last pure `to`.
    pub fn class_morph(&self, from: i64, to: i64, rows: usize, steps: usize) -> Result<ImageGrid> {
        let classes = self.config.model.n_classes();
        ensure!(
            classes > 0,
            "class_morph needs a conditional model (n_classes > 0)"
        );
        for class in [from, to] {
            ensure!(
                (0..classes).contains(&class),
                "class {class} does not exist: this model has classes 0 to {}",
                classes - 1
            );
        }
        let latent_dim = self.config.model.latent_dim().context("no latent space")?;
        let device = self.device();
        let steps = steps.max(2) as i64;
        let z = Tensor::randn([rows as i64, 1, latent_dim], (Kind::Float, device))
            .repeat([1, steps, 1])
            .view([-1, latent_dim]); // [rows · steps, latent_dim], one z per row
        let t = Tensor::linspace(0.0, 1.0, steps, (Kind::Float, device)).unsqueeze(1); // [steps, 1]
        let hot = |class: i64| {
            Tensor::from_slice(&[class])
                .to_device(device)
                .one_hot(classes)
                .to_kind(Kind::Float)
        };
        let blend = hot(from) * (t.ones_like() - &t) + hot(to) * &t; // [steps, classes]
        let labels = blend.repeat([rows as i64, 1]);
        let images = self.images_only(self.generate_from(&z, Some(&labels))?)?;
        let names = self.class_names();
        let headings = (0..steps).map(|i| match i {
            0 => names[from as usize].clone(),
            i if i == steps - 1 => names[to as usize].clone(),
            i => format!("{:.0} %", 100.0 * i as f64 / (steps - 1) as f64),
        });
        Ok(image_grid(&images, steps as usize, Self::scale(&images))?.column_labels(headings))
    }

    /// Indices of `rows` snapshots spread evenly from the first to the last.
    pub fn snapshot_picks(&self, rows: usize) -> Vec<usize> {
        let n = self.snapshots.len();
        match (n, rows) {
            (0, _) | (_, 0) => vec![],
            (_, 1) => vec![n - 1],
            _ => {
                let mut picks: Vec<usize> = (0..rows)
                    .map(|r| (r * (n - 1) + (rows - 1) / 2) / (rows - 1))
                    .collect();
                picks.dedup();
                picks
            }
        }
    }

    /// Training as a table: one row per snapshot of [`Self::snapshot_picks`], the first
    /// `per_row` fixed samples in each, so the same noise vectors read top to bottom through time.
    pub fn snapshot_rows(&self, rows: usize, per_row: usize) -> Result<ImageGrid> {
        ensure!(
            rows >= 1 && per_row >= 1,
            "snapshot_rows(rows, per_row) needs both ≥ 1, got {rows} and {per_row}"
        );
        ensure!(
            !self.snapshots.is_empty(),
            "no snapshots yet: train with snapshot_every > 0 first"
        );
        ensure!(
            !self.config.model.makes_points(),
            "the toy model's snapshots are points: show one with snapshot_chart(i)"
        );
        let picks = self.snapshot_picks(rows);
        let steps = picks
            .iter()
            .map(|&i| format!("step {}", self.snapshots[i].step));
        let frames: Vec<Tensor> = picks
            .iter()
            .copied()
            .map(|i| {
                let samples = from_bytes(&self.snapshots[i].samples);
                let k = (per_row as i64).min(samples.size()[0]);
                samples.narrow(0, 0, k)
            })
            .collect();
        let per_row = frames[0].size()[0] as usize;
        let images = Tensor::cat(&frames, 0);
        Ok(image_grid(&images, per_row, Self::scale(&images))?.row_labels(steps))
    }

    /// True for a model that translates pictures (Pix2Pix, CycleGAN), not noise.
    pub(crate) fn translates(&self) -> bool {
        self.config.model.model().input_shape().is_some()
    }

    /// Whether snapshots show input | output | target: a model that translates, with the
    /// targets of its fixed inputs known (not for unaligned unpaired sets).
    pub fn shows_triplets(&self) -> bool {
        self.translates() && self.fixed.condition_or_target.is_some()
    }

    /// Pix2Pix: input | output | target for the fixed pairs, `groups_per_row` triplets a row.
    pub fn triplets(&self, groups_per_row: usize) -> Result<ImageGrid> {
        let targets = match (self.translates(), self.fixed.condition_or_target.as_ref()) {
            (true, Some(t)) => t,
            _ => anyhow::bail!(
                "triplets are for a model that translates, with the fixed inputs' targets known"
            ),
        };
        let outputs = self.fixed_samples()?;
        let n = targets.size()[0] as usize;
        Ok(compare(
            &[&self.fixed.input, &outputs, targets],
            n,
            groups_per_row,
            Self::scale(targets),
        )?
        .column_labels(["input", "output", "target"]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;
    use crate::data::paired::PairedDataset;
    use crate::models::dcgan::DcganConfig;
    use crate::models::patchgan::PatchGanConfig;
    use crate::models::unet::UnetConfig;
    use crate::train::ModelConfig;
    use crate::train::TrainConfig;
    use tch::Device;

    fn digits(n_classes: i64) -> Trainer {
        let cpu = (Kind::Float, Device::Cpu);
        let data = Dataset {
            name: "noise".into(),
            images: Tensor::rand([40, 1, 28, 28], cpu) * 2.0 - 1.0,
            labels: Some(Tensor::arange(40, (Kind::Int64, Device::Cpu)).remainder(4)),
            class_names: (0..4).map(|c| c.to_string()).collect(),
        };
        let model = ModelConfig::Dcgan(DcganConfig {
            width: 4,
            n_classes,
            ..DcganConfig::mnist()
        });
        let config = TrainConfig {
            n_fixed: 8,
            ..TrainConfig::gan(model)
                .batch_size(8)
                .log_every(2)
                .snapshot_every(2)
                .quiet()
        };
        Trainer::new(config, data).unwrap()
    }

    /// The height of the band a GIF frame's caption takes: 18 pixels where the font that draws
    /// it is installed, none without it.
    fn caption_band() -> u32 {
        match crate::files::data_dir()
            .join("fonts/DejaVuSans.ttf")
            .is_file()
        {
            true => 18,
            false => 0,
        }
    }

    fn png_size(grid: &ImageGrid) -> (u32, u32) {
        let decoded = image::load_from_memory(&grid.png).unwrap();
        (decoded.width(), decoded.height())
    }

    #[test]
    fn figures_of_a_run() {
        let mut t = digits(0);
        assert!(t.losses(0.0).is_err(), "no history before training");
        t.train(4).unwrap();
        assert_eq!(t.history().step, [2, 4]);
        assert_eq!(t.snapshots().len(), 3, "step 0, 2 and 4");
        let svg = t.losses(0.6).unwrap().to_svg().unwrap();
        assert!(
            svg.contains("loss_d") && svg.contains("step 4"),
            "titled with the step"
        );
        assert!(
            t.d_chart(0.0)
                .unwrap()
                .to_svg()
                .unwrap()
                .contains("D(G(z))")
        );
        t.grad_chart().unwrap().to_svg().unwrap();
        let gif = t.snapshots_gif(100).unwrap();
        assert_eq!(gif.frames, 3);
        // 8 samples of 28×28, 3 to a row, ×2: 3 tiles of 30 + 2 = 92 wide.
        assert_eq!(png_size(&t.sample_grid(8).unwrap()), (184, 184));
        // 2 walks of 5 steps: a 5 × 2 grid.
        let walk = t.interpolation(2, 5, Interpolation::Slerp).unwrap();
        assert_eq!(png_size(&walk), (2 * (5 * 30 + 2), 2 * (2 * 30 + 2)));
        let err = t.class_grid(3).unwrap_err().to_string();
        assert!(err.contains("conditional"), "{err}");
    }

    #[test]
    fn class_grid_has_a_row_per_class() {
        let t = digits(4);
        let grid = t.class_grid(3).unwrap();
        assert_eq!(png_size(&grid), (2 * (3 * 30 + 2), 2 * (4 * 30 + 2)));
        // Labels of the fixed noise cycle through the classes; the sample grid is one column
        // per class.
        assert_eq!(
            png_size(&t.sample_grid(8).unwrap()),
            (2 * (4 * 30 + 2), 2 * (2 * 30 + 2))
        );
    }

    /// A conditional model's GIF shows its frames as class_grid does, a row per class (named
    /// in a band on the left, where the font is installed), under a caption with the step.
    #[test]
    fn a_conditional_gif_has_a_row_per_class() {
        let mut t = digits(4);
        t.train(2).unwrap();
        let gif = t.snapshots_gif(100).unwrap();
        let decoded = image::load_from_memory(&gif.gif).unwrap().to_rgb8();
        // 8 fixed samples, 4 classes: 4 rows of 2 tiles of 28 + 2 pixels, twice enlarged.
        let (grid_w, grid_h) = (2 * (2 * 30 + 2), 2 * (4 * 30 + 2));
        let band = caption_band();
        assert_eq!(decoded.height(), grid_h + band);
        match band {
            0 => assert_eq!(decoded.width(), grid_w),
            _ => assert!(decoded.width() > grid_w, "no band for the class names"),
        }
        // The samples of class c (fixed labels cycle 0, 1, 2, 3) are row c of the frame.
        let fixed = t.fixed_samples().unwrap();
        let row_one = crate::viz::image_grid(
            &fixed.index_select(0, &Tensor::from_slice(&[1i64, 5])),
            2,
            2,
        )
        .unwrap();
        let row = image::load_from_memory(&row_one.png).unwrap().to_rgb8();
        let (x0, y0) = (decoded.width() - grid_w, band + 2 * 30);
        let close = (4..60).all(|dy| {
            (4..row.width() - 4).all(|dx| {
                let a = row.get_pixel(dx, dy).0[0] as i32;
                let b = decoded.get_pixel(x0 + dx, y0 + dy).0[0] as i32;
                (a - b).abs() <= 24
            })
        });
        assert!(close, "row 1 of the GIF is not class 1's samples");
    }

    #[test]
    fn class_morph_and_snapshot_rows() {
        let mut t = digits(4);
        // 3 rows of 5 steps from class 0 to class 3.
        let morph = t.class_morph(0, 3, 3, 5).unwrap();
        assert_eq!(png_size(&morph), (2 * (5 * 30 + 2), 2 * (3 * 30 + 2)));
        let err = t.class_morph(0, 4, 1, 3).unwrap_err().to_string();
        assert!(err.contains("classes 0 to 3"), "{err}");
        assert!(
            t.snapshot_rows(3, 4).is_err(),
            "no snapshots before training"
        );
        t.train(10).unwrap(); // snapshots at steps 0, 2, …, 10
        assert_eq!(t.snapshot_picks(3), [0, 3, 5]);
        assert_eq!(t.snapshot_picks(1), [5]);
        assert_eq!(t.snapshot_picks(20), [0, 1, 2, 3, 4, 5]);
        // 3 picked snapshots, the first 4 fixed samples of each.
        assert_eq!(
            png_size(&t.snapshot_rows(3, 4).unwrap()),
            (2 * (4 * 30 + 2), 2 * (3 * 30 + 2))
        );
    }

    fn pix2pix(adversarial: bool) -> Trainer {
        let cpu = (Kind::Float, Device::Cpu);
        // Inputs from a formula, not the global random stream, which parallel tests share.
        let pairs = PairedDataset {
            name: "pairs".into(),
            inputs: Tensor::arange(6 * 3 * 64 * 64, cpu)
                .sin()
                .view([6, 3, 64, 64]),
            targets: Tensor::ones([6, 3, 64, 64], cpu),
        };
        let config = TrainConfig::pix2pix(
            UnetConfig {
                image_size: 64,
                width: 4,
                ..Default::default()
            },
            PatchGanConfig {
                width: 4,
                ..Default::default()
            },
        )
        .adversarial(adversarial)
        .batch_size(2)
        .log_every(2)
        .quiet();
        Trainer::new(config, pairs).unwrap()
    }

    #[test]
    fn l1_only_trains_g_and_leaves_d_alone() {
        let mut t = pix2pix(false);
        let before: Vec<(String, Tensor)> = t
            .variables()
            .into_iter()
            .map(|(n, v)| (n, v.copy()))
            .collect();
        t.train(4).unwrap();
        let after = t.variables();
        for ((name, a), (_, b)) in before.iter().zip(&after) {
            let same = a.equal(b);
            if name.starts_with("discriminator.") {
                assert!(same, "{name} changed in an L1-only run");
            } else if name.ends_with(".weight") && name.contains("down1") {
                assert!(!same, "{name} did not learn");
            }
        }
        let h = t.history();
        assert_eq!(h.l1.len(), 2);
        assert!(h.loss_g[0] > 0.0 && (h.loss_g[0] - 100.0 * h.l1[0]).abs() < 1e-3);
        let err = t.d_chart(0.0).unwrap_err().to_string();
        assert!(err.contains("no discriminator"), "{err}");
        // Only Pix2Pix may drop its discriminator.
        let config = TrainConfig::gan(ModelConfig::Dcgan(DcganConfig::mnist())).adversarial(false);
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("learns nothing"), "{err}");
    }

    #[test]
    fn triplets_show_input_output_target() {
        let cpu = (Kind::Float, Device::Cpu);
        let pairs = PairedDataset {
            name: "pairs".into(),
            inputs: Tensor::zeros([6, 3, 64, 64], cpu),
            targets: Tensor::ones([6, 3, 64, 64], cpu),
        };
        let config = TrainConfig::pix2pix(
            UnetConfig {
                image_size: 64,
                width: 4,
                ..Default::default()
            },
            PatchGanConfig {
                width: 4,
                ..Default::default()
            },
        );
        let t = Trainer::new(
            TrainConfig {
                n_fixed: 4,
                batch_size: 2,
                ..config
            },
            pairs,
        )
        .unwrap();
        let grid = t.triplets(2).unwrap();
        // 4 triplets, 2 to a row: 6 tiles of 66 + 2 across, 2 rows.
        assert_eq!(png_size(&grid), (6 * 66 + 2, 2 * 66 + 2));
        assert!(t.sample(4).is_err() && t.translate(&t.fixed.input).is_ok());
        assert!(
            grid.to_svg().matches(">output<").count() == 2,
            "labelled columns"
        );
    }

    /// Pix2Pix's GIF frames are triplets (input | output | target), four to a row; the loss
    /// chart shows G's GAN term and L1 apart, not loss_g on one axis with them.
    #[test]
    fn pix2pix_gif_and_loss_chart() {
        let mut t = pix2pix(true);
        t.set_progress(0, 0.0, 2).unwrap();
        t.train(4).unwrap();
        let gif = t.snapshots_gif(100).unwrap();
        let decoded = image::load_from_memory(&gif.gif).unwrap();
        // n_fixed = 6 pairs → 18 tiles, 12 to a row: 2 rows of 66-pixel tiles, below the band
        // that says the step.
        assert_eq!(
            (decoded.width(), decoded.height()),
            (12 * 66 + 2, 2 * 66 + 2 + caption_band())
        );
        let svg = t.losses(0.0).unwrap().to_svg().unwrap();
        assert!(
            svg.contains("GAN term") && svg.contains("L1 (without λ)"),
            "{svg}"
        );
    }

    #[test]
    fn wrong_data_for_the_model_is_explained() {
        let cpu = (Kind::Float, Device::Cpu);
        let colour = Dataset {
            name: "colour".into(),
            images: Tensor::zeros([10, 3, 64, 64], cpu),
            labels: None,
            class_names: vec![],
        };
        let config = TrainConfig::gan(ModelConfig::Dcgan(DcganConfig::mnist()));
        let err = Trainer::new(config, colour).unwrap_err().to_string();
        assert!(
            err.contains("[3, 64, 64]") && err.contains("[1, 28, 28]"),
            "{err}"
        );
    }
}
