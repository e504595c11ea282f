//! Pictures from a trained generator: new samples, samples from given noise, translations.

use anyhow::{Context, Result, ensure};
use tch::{Kind, Tensor};

use super::trainer::{Statistics, Trainer};

impl Trainer {
    /// `n` new samples from the generator (images in [−1, 1], or points), on the device. A
    /// conditional model gets labels `0, 1, …, n_classes − 1, 0, 1, …`. Pix2Pix has no noise to
    /// sample: use [`Trainer::translate`].
    ///
    /// Batch norm uses [`Trainer::statistics`]: by default the statistics of the batch
    /// generated, as the DCGAN and Pix2Pix papers do at test time.
    pub fn sample(&self, n: usize) -> Result<Tensor> {
        let latent_dim = self.config.model.latent_dim().context(
            "a Pix2Pix generator translates images: call translate(&inputs) instead of sample(n)",
        )?;
        ensure!(n > 0, "sample(n) needs n ≥ 1");
        let z = Tensor::randn([n as i64, latent_dim], (Kind::Float, self.device));
        let labels = self.labels_cycling(n);
        let train = self.batch_statistics(n);
        Ok(tch::no_grad(|| {
            self.sampler().generate(&z, labels.as_ref(), train)
        }))
    }

    /// Whether a generator run on `n` noise vectors uses the batch's own statistics (training
    /// mode: batch norm on the batch, dropout on) or the running ones (evaluation mode). One
    /// noise vector has no spread to normalise by: batch norm would map every z to the same
    /// image, so a batch of one always uses the running statistics.
    fn batch_statistics(&self, n: usize) -> bool {
        self.statistics == Statistics::Batch && n > 1
    }

    /// Generates from given noise `z` (`[n, latent_dim]`) and, for a cGAN, labels `[n]`.
    pub fn generate_from(&self, z: &Tensor, labels: Option<&Tensor>) -> Result<Tensor> {
        let latent_dim = self
            .config
            .model
            .latent_dim()
            .context("a Pix2Pix generator takes images: call translate(&inputs)")?;
        let size = z.size();
        ensure!(
            size.len() == 2 && size[1] == latent_dim,
            "z must be [n, {latent_dim}], got {size:?}"
        );
        ensure!(
            labels.is_some() == (self.config.model.n_classes() > 0),
            "labels are needed exactly when the model is conditional (n_classes = {})",
            self.config.model.n_classes()
        );
        ensure!(
            size[0] > 0,
            "z holds no noise vector: give it at least one row"
        );
        if let Some(labels) = labels {
            ensure!(
                labels.size() == [size[0]]
                    || labels.size() == [size[0], self.config.model.n_classes()],
                "labels must be [{}] (one class per row of z) or [{}, {}] (class weights), got \
                 {:?}",
                size[0],
                size[0],
                self.config.model.n_classes(),
                labels.size()
            );
        }
        let classes = self.config.model.n_classes();
        let labels = match labels {
            // Hard labels: whole numbers in 0..n_classes, as int64 (what one_hot wants).
            Some(l) if l.dim() == 1 => {
                ensure!(
                    !l.is_floating_point(),
                    "labels [{}] must be class numbers (integers), got {:?}; class weights are \
                     [n, {classes}]",
                    size[0],
                    l.kind()
                );
                let (low, high) = (l.min().int64_value(&[]), l.max().int64_value(&[]));
                ensure!(
                    low >= 0 && high < classes,
                    "labels must lie in 0..{classes}, got values from {low} to {high}"
                );
                Some(l.to_kind(Kind::Int64).to_device(self.device))
            }
            Some(l) => Some(l.to_kind(Kind::Float).to_device(self.device)),
            None => None,
        };
        let z = z.to_kind(Kind::Float).to_device(self.device);
        let train = self.batch_statistics(size[0] as usize);
        Ok(tch::no_grad(|| {
            self.sampler().generate(&z, labels.as_ref(), train)
        }))
    }

    /// Pix2Pix: the generator's output for any number of inputs, translated 64 at a time (the
    /// U-Net's batch norm uses each chunk's statistics, as at training time).
    pub fn translate_all(&self, inputs: &Tensor) -> Result<Tensor> {
        ensure!(
            inputs.dim() == 4 && inputs.size()[0] > 0,
            "translate_all needs input images [n ≥ 1, C, H, W], got {:?}",
            inputs.size()
        );
        let chunks: Vec<Tensor> = inputs
            .split(64, 0)
            .iter()
            .map(|c| self.translate(c))
            .collect::<Result<_>>()?;
        Ok(Tensor::cat(&chunks, 0))
    }

    /// Pix2Pix: the generator's output for input images `[n, C, H, W]`.
    pub fn translate(&self, inputs: &Tensor) -> Result<Tensor> {
        let input = self.config.model.model().input_shape().with_context(|| {
            format!(
                "translate is for Pix2Pix; a {} model samples from noise: call sample(n)",
                self.config.model.name()
            )
        })?;
        let size = inputs.size();
        ensure!(
            size.len() == 4 && size[0] > 0 && size[1..] == input[..],
            "translate needs input images [n ≥ 1, {}, {}, {}], got {size:?}",
            input[0],
            input[1],
            input[2]
        );
        let inputs = inputs.to_device(self.device);
        // Pix2Pix keeps batch statistics and dropout at test time (the paper's noise), also
        // for one image: batch norm then normalises over its pixels.
        let train = self.statistics == Statistics::Batch;
        Ok(tch::no_grad(|| {
            self.sampler().generate(&inputs, None, train)
        }))
    }

    pub(crate) fn labels_cycling(&self, n: usize) -> Option<Tensor> {
        let classes = self.config.model.n_classes();
        (classes > 0)
            .then(|| Tensor::arange(n as i64, (Kind::Int64, self.device)).remainder(classes))
    }
}
