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
    captioned(frames, &[], &[], per_row, scale, delay_ms)
}

/// [`animation`] with a caption above each frame (`captions[i]`, e.g. "step 1,200"), so that a
/// learner watching the loop knows when each picture was taken, and with `row_labels` (one per
/// row of tiles, e.g. the class of a conditional model's row) in a band on the left. The text
/// is drawn with the DejaVu Sans face that `make data` installs; without it the frames have no
/// text.
pub fn captioned(
    frames: &[Tensor],
    captions: &[String],
    row_labels: &[String],
    per_row: usize,
    scale: u32,
    delay_ms: u32,
) -> Result<Animation> {
    anyhow::ensure!(!frames.is_empty(), "an animation needs at least one frame");
    anyhow::ensure!(
        captions.is_empty() || captions.len() == frames.len(),
        "{} captions for {} frames: give one per frame, or none",
        captions.len(),
        frames.len()
    );
    let font = match captions.is_empty() && row_labels.is_empty() {
        true => None,
        false => caption_font(),
    };
    let mut gif = Vec::new();
    {
        // Speed 10 of 30: NeuQuant's colour quantisation at speed 1 takes seconds per frame.
        let mut encoder = GifEncoder::new_with_speed(&mut gif, 10);
        encoder.set_repeat(Repeat::Infinite)?;
        for (i, images) in frames.iter().enumerate() {
            let mut picture = super::grid::tile(images, per_row, scale)?;
            if let Some(font) = &font {
                let caption = captions.get(i).map_or("", String::as_str);
                let side = images.size()[2] as u32;
                picture = with_text(&picture, caption, row_labels, side, scale, font);
            }
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

/// The pixel height of the band that holds a caption.
const CAPTION_BAND: u32 = 18;

/// The text's size in pixels.
const TEXT_PX: f32 = 13.0;

fn caption_font() -> Option<ab_glyph::FontVec> {
    let path = crate::files::data_dir().join("fonts/DejaVuSans.ttf");
    ab_glyph::FontVec::try_from_vec(std::fs::read(path).ok()?).ok()
}

/// The width of `text` in pixels.
fn text_width(text: &str, font: &ab_glyph::FontVec) -> f32 {
    use ab_glyph::{Font, PxScale, ScaleFont};
    let scaled = font.as_scaled(PxScale::from(TEXT_PX));
    text.chars()
        .map(|c| scaled.h_advance(scaled.glyph_id(c)))
        .sum()
}

/// Draws `text` in dark grey onto `out`, its left end at `x` and its baseline at `baseline`.
fn draw_text(
    out: &mut image::RgbImage,
    text: &str,
    x: f32,
    baseline: f32,
    font: &ab_glyph::FontVec,
) {
    use ab_glyph::{Font, PxScale, ScaleFont};
    let scaled = font.as_scaled(PxScale::from(TEXT_PX));
    let (w, h) = out.dimensions();
    let mut x = x;
    for c in text.chars() {
        let mut glyph = scaled.scaled_glyph(c);
        let advance = scaled.h_advance(glyph.id);
        glyph.position = ab_glyph::point(x, baseline);
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let (px, py) = (
                    bounds.min.x as i64 + gx as i64,
                    bounds.min.y as i64 + gy as i64,
                );
                if (0..w as i64).contains(&px) && (0..h as i64).contains(&py) {
                    let ink = (255.0 - 215.0 * coverage.min(1.0)) as u8;
                    let pixel = out.get_pixel_mut(px as u32, py as u32);
                    pixel.0 = [pixel.0[0].min(ink); 3];
                }
            });
        }
        x += advance;
    }
}

/// `picture` (tiles of `side` pixels enlarged `scale` times, as `grid::tile` lays them out)
/// below a white band holding `caption`, and right of a white band holding each row's label.
fn with_text(
    picture: &image::RgbImage,
    caption: &str,
    row_labels: &[String],
    side: u32,
    scale: u32,
    font: &ab_glyph::FontVec,
) -> image::RgbImage {
    use ab_glyph::{Font, PxScale, ScaleFont};
    let ascent = font.as_scaled(PxScale::from(TEXT_PX)).ascent();
    let left = match row_labels.is_empty() {
        true => 0,
        false => {
            let widest = row_labels
                .iter()
                .map(|l| text_width(l, font))
                .fold(0.0, f32::max);
            widest.ceil().min(120.0) as u32 + 8
        }
    };
    let top = if caption.is_empty() { 0 } else { CAPTION_BAND };
    let (w, h) = picture.dimensions();
    let mut out = image::RgbImage::from_pixel(w + left, h + top, image::Rgb([255, 255, 255]));
    image::imageops::replace(&mut out, picture, left as i64, top as i64);
    if !caption.is_empty() {
        draw_text(&mut out, caption, 4.0, 3.0 + ascent, font);
    }
    // Tiles start 2 pixels in and repeat every side + 2, all enlarged `scale` times.
    let pitch = ((side + 2) * scale) as f32;
    for (row, label) in row_labels.iter().enumerate() {
        let middle =
            top as f32 + (2 * scale) as f32 + row as f32 * pitch + (side * scale) as f32 / 2.0;
        draw_text(&mut out, label, 4.0, middle + ascent / 2.0 - 1.0, font);
    }
    out
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

    /// A caption adds a white band above the frame, with dark ink in it where the font is
    /// installed; a caption count unlike the frame count is refused.
    #[test]
    fn captions_sit_above_the_frames() {
        use image::AnimationDecoder;
        let cpu = (Kind::Float, Device::Cpu);
        let frames = [Tensor::full([4, 3, 16, 16], 1.0, cpu)];
        let captions = ["step 1,200".to_string()];
        assert!(captioned(&frames, &[], &[], 2, 2, 100).is_ok());
        assert!(captioned(&frames, &[captions[0].clone(), "x".into()], &[], 2, 2, 100).is_err());
        if caption_font().is_none() {
            eprintln!("skipped: data/fonts/DejaVuSans.ttf is not installed (make data)");
            return;
        }
        let gif = captioned(&frames, &captions, &[], 2, 2, 100).unwrap();
        let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(gif.gif)).unwrap();
        let frame = decoder.into_frames().collect_frames().unwrap().remove(0);
        let buffer = frame.buffer();
        // 2 rows of 16-pixel tiles and 2-pixel gaps, enlarged twice, below the band.
        assert_eq!(buffer.height(), 2 * (2 * 18 + 2) + CAPTION_BAND);
        let darkest = |y0: u32, y1: u32| {
            (y0..y1)
                .flat_map(|y| (0..buffer.width()).map(move |x| (x, y)))
                .map(|(x, y)| buffer.get_pixel(x, y).0[0])
                .min()
                .unwrap()
        };
        assert!(darkest(0, CAPTION_BAND) < 128, "no ink in the caption band");
        // Inside the first tile (white) nothing is drawn; the grid's gaps are its dark grey.
        let tile = CAPTION_BAND + 4;
        assert!(darkest(tile, tile + 32) > 30, "ink below the band");
        assert_eq!(buffer.get_pixel(10, tile + 10).0[..3], [255, 255, 255]);
    }
}
