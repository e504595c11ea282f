//! Animated GIFs: the fixed-noise snapshots of a run, frame after frame, so a learner watches
//! the generator's samples form.

use std::path::Path;

use anyhow::{Context, Result};
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame};
use tch::Tensor;

/// An encoded GIF; shows itself inline in a notebook.
#[derive(Debug, Clone)]
pub struct Animation {
    pub gif: Vec<u8>,
    pub frames: usize,
}

/// A GIF of one image grid per frame: `frames[i]` is a batch `[N, C, H, W]` in [−1, 1], tiled
/// `per_row` to a row and enlarged `scale` times. Each frame shows `delay_ms`; the last one
/// stays three times as long before the loop starts again.
pub fn animation(
    frames: &[Tensor],
    per_row: usize,
    scale: u32,
    delay_ms: u32,
) -> Result<Animation> {
    anyhow::ensure!(!frames.is_empty(), "an animation needs at least one frame");
    let mut gif = Vec::new();
    {
        // Speed 10 of 30: NeuQuant's colour quantisation at speed 1 takes seconds per frame.
        let mut encoder = GifEncoder::new_with_speed(&mut gif, 10);
        encoder.set_repeat(Repeat::Infinite)?;
        for (i, images) in frames.iter().enumerate() {
            let picture = super::grid::tile(images, per_row, scale)?;
            let rgba = image::DynamicImage::ImageRgb8(picture).to_rgba8();
            let hold = if i + 1 == frames.len() { 3 } else { 1 };
            let delay = Delay::from_numer_denom_ms(delay_ms * hold, 1);
            encoder
                .encode_frame(Frame::from_parts(rgba, 0, 0, delay))
                .with_context(|| format!("encoding frame {i} of the GIF"))?;
        }
    }
    Ok(Animation {
        gif,
        frames: frames.len(),
    })
}

impl Animation {
    /// Saves the GIF (atomically).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::files::write_atomic(path.as_ref(), &self.gif)
    }

    /// Shows the animation inline in a notebook.
    pub fn evcxr_display(&self) {
        super::display_in_notebook("image/gif", &super::base64(&self.gif));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn frames_decode_back() {
        use image::AnimationDecoder;
        let cpu = (Kind::Float, Device::Cpu);
        let frames = [
            Tensor::full([4, 1, 8, 8], -1.0, cpu),
            Tensor::full([4, 1, 8, 8], 1.0, cpu),
        ];
        let gif = animation(&frames, 2, 1, 100).unwrap();
        let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(gif.gif)).unwrap();
        let decoded = decoder.into_frames().collect_frames().unwrap();
        assert_eq!(decoded.len(), 2);
        // Inside the first tile: black in frame 0, white in frame 1.
        assert_eq!(decoded[0].buffer().get_pixel(3, 3).0[..3], [0, 0, 0]);
        assert_eq!(decoded[1].buffer().get_pixel(3, 3).0[..3], [255, 255, 255]);
        assert!(animation(&[], 2, 1, 100).is_err());
    }
}
