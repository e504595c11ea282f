//! The line a learner watches while a cell trains: step, the latest losses, D's verdicts (or the
//! critic's estimate), speed, time left, and sparklines of the recent trend.

use super::trainer::Trainer;

impl Trainer {
    /// One line: step, the latest history point, speed. (See [`Trainer::progress`] for the
    /// line with time left and the recent trend.)
    pub fn progress_line(&self, steps_per_second: f64) -> String {
        let h = self.history();
        let config = self.config();
        let last = |v: &Vec<f64>| v.last().copied().unwrap_or(f64::NAN);
        let step = self.steps_done();
        let mut line = format!(
            "step {step:>6} | loss_d {:7.4} loss_g {:7.4}",
            last(&h.loss_d),
            last(&h.loss_g)
        );
        if !config.adversarial {
            line = format!("step {step:>6} | loss_g {:7.4}", last(&h.loss_g));
        } else if config.loss.is_wasserstein() {
            line += &format!(" | W estimate {:7.4}", last(&h.wasserstein));
        } else {
            line += &format!(
                " | D(x) {:.3} D(G(z)) {:.3}",
                last(&h.d_real),
                last(&h.d_fake)
            );
        }
        if !h.l1.is_empty() {
            line += &format!(" | L1 {:.4}", last(&h.l1));
        }
        format!("{line} | {steps_per_second:.1} steps/s")
    }

    /// The live line: [`Trainer::progress_line`], the time the `remaining` steps will take at
    /// this speed, and sparklines of the last 16 history points of loss_d and loss_g (each
    /// scaled to its own range: the shape, not the level).
    pub fn progress(&self, steps_per_second: f64, remaining: usize) -> String {
        let mut line = self.progress_line(steps_per_second);
        if remaining > 0 && steps_per_second > 0.0 {
            line += &format!(", {} left", duration(remaining as f64 / steps_per_second));
        }
        let h = self.history();
        let recent = |v: &[f64]| v[v.len().saturating_sub(16)..].to_vec();
        line += " |";
        if self.config().adversarial {
            line += &format!(" d {}", sparkline(&recent(&h.loss_d)));
        }
        line + &format!(" g {}", sparkline(&recent(&h.loss_g)))
    }
}

/// 1510032 → "1,510,032".
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// "42 s", "3 min 5 s", "1 h 02 min".
pub(crate) fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// The values as a row of block characters, lowest ▁ to highest █ (flat: all ▄).
pub(crate) fn sparkline(values: &[f64]) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    values
        .iter()
        .map(|&v| {
            if !v.is_finite() {
                '!'
            } else if hi - lo < 1e-12 {
                BLOCKS[3]
            } else {
                BLOCKS[(((v - lo) / (hi - lo)) * 7.0).round() as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The live line's parts: sparklines scale each series to its own range, times read as
    /// a person says them, counts get thousands separators.
    #[test]
    fn the_live_line_reads_at_a_glance() {
        assert_eq!(sparkline(&[1.0, 2.0, 3.0, 8.0]), "▁▂▃█");
        assert_eq!(sparkline(&[0.5, 0.5]), "▄▄");
        assert_eq!(sparkline(&[0.0, f64::NAN, 1.0]), "▁!█");
        assert_eq!(sparkline(&[]), "");
        assert_eq!(duration(42.4), "42 s");
        assert_eq!(duration(185.0), "3 min 05 s");
        assert_eq!(duration(3720.0), "1 h 02 min");
        assert_eq!(thousands(1_510_032), "1,510,032");
        assert_eq!(thousands(-999), "-999");
    }
}
