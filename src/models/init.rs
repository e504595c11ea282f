//! Weight initialisation from the DCGAN paper (Radford et al., 2016, §4): every convolution
//! and linear weight from N(0, 0.02), normalisation scales from N(1, 0.02), biases 0.
//!
//! libtorch's default (Kaiming-uniform) also trains; the paper's init is a switch in each
//! model's config so that a notebook can compare the two.

use tch::{Tensor, nn};

/// Re-initialises every variable of `vs` by its name: `bn*`/`norm*` layers get N(1, 0.02)
/// scales and zero shifts; every other `weight` gets N(0, 0.02); every `bias` 0.
///
/// Variables are visited in name order: `VarStore::variables` is a hash map, whose order
/// changes from run to run, and drawing the same numbers into other variables would make the
/// same seed give different networks.
pub fn dcgan_normal(vs: &nn::VarStore) {
    let mut variables: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (name, mut var) in variables {
            let layer = name.rsplit('.').nth(1).unwrap_or("");
            let is_norm = layer.starts_with("bn") || layer.starts_with("norm");
            let value = if name.ends_with(".bias") || name.ends_with(".running_mean") {
                var.zeros_like()
            } else if name.ends_with(".running_var") {
                var.ones_like()
            } else if is_norm {
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
