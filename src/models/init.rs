//! Weight initialisation from the DCGAN paper (Radford et al., 2016, §4): every convolution
//! and linear weight from N(0, 0.02), normalisation scales from N(1, 0.02), biases 0.
//!
//! libtorch's default (Kaiming-uniform) also trains; the paper's init is a switch in each
//! model's config so that a notebook can compare the two.

use tch::{Tensor, nn};

/// Re-initialises every variable of `vs` by the kind of layer it belongs to, as the papers'
/// PyTorch code does with `isinstance`: the normalisation scales (γ) listed in `norm_scales`,
/// which each model reports from its own batch, layer and instance norm layers
/// (`DcganGenerator::norm_scales`, …), get N(1, 0.02); every other weight (convolution,
/// transposed convolution, linear, embedding) gets N(0, 0.02); every bias and shift (β) 0; batch
/// norm's running statistics their start values (mean 0, variance 1); spectral norm's power
/// iteration vectors (`sn_u`, `sn_v`) a random unit vector.
///
/// Variables are visited in name order: `VarStore::variables` is a hash map, whose order
/// changes from run to run, and drawing the same numbers into other variables would make the
/// same seed give different networks.
pub fn dcgan_normal(vs: &nn::VarStore, norm_scales: impl IntoIterator<Item = Tensor>) {
    // A variable is recognised by its storage: the scales share it with the models' layers.
    let scales: Vec<usize> = norm_scales
        .into_iter()
        .map(|t| t.data_ptr() as usize)
        .collect();
    let mut variables: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (name, mut var) in variables {
            let is_scale = scales.contains(&(var.data_ptr() as usize));
            let value = if name.ends_with(".bias") || name.ends_with(".running_mean") {
                var.zeros_like()
            } else if name.ends_with(".running_var") {
                var.ones_like()
            } else if name.ends_with(".sn_u") || name.ends_with(".sn_v") {
                let x = var.randn_like();
                &x / x.norm()
            } else if is_scale {
                var.randn_like() * 0.02 + 1.0
            } else {
                var.randn_like() * 0.02
            };
            var.copy_(&value);
        }
    });
}

/// Mean and standard deviation of one variable, to check an initialisation.
pub fn stats(var: &Tensor) -> (f64, f64) {
    (
        var.mean(tch::Kind::Float).double_value(&[]),
        var.std(true).double_value(&[]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Norm;
    use crate::models::dcgan::{DcganConfig, DcganDiscriminator, DcganGenerator};
    use crate::models::patchgan::{PatchGan, PatchGanConfig};
    use crate::models::unet::{UnetConfig, UnetGenerator};
    use tch::{Device, Kind};

    /// Mean and standard deviation of every variable whose name `pick` accepts, pooled, and
    /// how many variables that was.
    fn pooled(vs: &nn::VarStore, pick: impl Fn(&str, &Tensor) -> bool) -> (f64, f64, usize) {
        let picked: Vec<Tensor> = vs
            .variables()
            .into_iter()
            .filter(|(name, t)| pick(name, t))
            .map(|(_, t)| t.flatten(0, -1))
            .collect();
        let all = Tensor::cat(&picked, 0).to_kind(Kind::Double);
        let (mean, std) = stats(&all);
        (mean, std, picked.len())
    }

    /// The PyTorch references initialise by type: every normalisation scale N(1, 0.02), every
    /// convolution N(0, 0.02). Checked on every model that uses the paper's init, the U-Net's
    /// `down_bn*`/`up_bn*` included (named unlike DCGAN's `bn*`).
    #[test]
    fn every_norm_scale_starts_near_one_and_every_conv_near_zero() {
        let mut models: Vec<(String, nn::VarStore, Vec<Tensor>)> = Vec::new();
        for norm in [Norm::Batch, Norm::Layer, Norm::Instance] {
            let vs = nn::VarStore::new(Device::Cpu);
            let config = DcganConfig {
                width: 16,
                norm,
                ..DcganConfig::default()
            };
            let g = DcganGenerator::new(&config, vs.root() / "generator").unwrap();
            let d = DcganDiscriminator::new(&config, vs.root() / "discriminator").unwrap();
            let scales = [g.norm_scales(), d.norm_scales()]
                .into_iter()
                .flatten()
                .collect();
            models.push((format!("dcgan {norm:?}"), vs, scales));
        }
        let vs = nn::VarStore::new(Device::Cpu);
        let unet = UnetConfig {
            image_size: 64,
            in_channels: 1,
            out_channels: 3,
            width: 16,
            dropout: 0.5,
            ..Default::default()
        };
        let g = UnetGenerator::new(&unet, vs.root() / "generator").unwrap();
        let patch = PatchGanConfig {
            in_channels: 4,
            width: 16,
            ..Default::default()
        };
        let d = PatchGan::new(&patch, vs.root() / "discriminator");
        let scales = [g.norm_scales(), d.norm_scales()]
            .into_iter()
            .flatten()
            .collect();
        models.push(("pix2pix".into(), vs, scales));

        for (model, vs, scales) in models {
            let n_scales = scales.len();
            tch::manual_seed(0);
            dcgan_normal(&vs, scales);
            let is_norm = |name: &str| {
                let layer = name.rsplit('.').nth(1).unwrap_or("");
                layer.contains("bn") || layer.contains("norm")
            };
            let (mean, std, count) = pooled(&vs, |n, _| is_norm(n) && n.ends_with(".weight"));
            assert_eq!(
                count, n_scales,
                "{model}: every norm layer reports its scale"
            );
            assert!(count > 0, "{model}");
            assert!(
                (mean - 1.0).abs() < 0.005,
                "{model}: norm scales mean {mean}"
            );
            assert!((std - 0.02).abs() < 0.004, "{model}: norm scales std {std}");
            let (mean, std, count) = pooled(&vs, |n, t| t.dim() == 4 && n.ends_with(".weight"));
            assert!(count > 0, "{model}");
            assert!(mean.abs() < 0.001, "{model}: conv weights mean {mean}");
            assert!(
                (std - 0.02).abs() < 0.001,
                "{model}: conv weights std {std}"
            );
            let (mean, std, _) = pooled(&vs, |n, _| n.ends_with(".bias"));
            assert_eq!((mean, std), (0.0, 0.0), "{model}: biases");
        }
    }
}
