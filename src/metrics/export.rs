//! Samples as a NumPy array, for scoring with other tools (`numpy.load`, torch-fidelity, …).

use std::path::Path;

use anyhow::{Result, ensure};
use tch::Tensor;

/// Writes images `[N, C, H, W]` in [-1, 1] as a `.npy` file of `uint8` with shape `[N, H, W, C]`
/// (the layout image tools expect), atomically.
pub fn save_npy(images: &Tensor, path: impl AsRef<Path>) -> Result<()> {
    ensure!(
        images.dim() == 4,
        "images must be [N, C, H, W], got {:?}",
        images.size()
    );
    let bytes = crate::viz::to_u8(images).permute([0, 2, 3, 1]).contiguous();
    // tch writes the NPY format itself.
    crate::files::replace_atomically(path.as_ref(), |temp| Ok(bytes.write_npy(temp)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_data_is_nhwc() {
        let dir = std::env::temp_dir().join(format!("gans-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.npy");
        // 2 images, 3 channels, 1×2 pixels: channel c of pixel (0, j) of image i = value below.
        let values: Vec<f32> = (0..12).map(|v| v as f32 / 11.0 * 2.0 - 1.0).collect();
        let images = Tensor::from_slice(&values).view([2, 3, 1, 2]);
        save_npy(&images, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 16, 0, "numpy aligns the data");
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(
            header.contains("'descr': '<u1'")
                && header.contains("'shape': (2,1,2,3,)")
                && header.ends_with('\n'),
            "{header}"
        );
        let data = &bytes[10 + header_len..];
        assert_eq!(data.len(), 12);
        // Image 0, pixel (0, 0), channels 0..3 are the values 0, 2, 4 of the NCHW tensor.
        let expect = |v: usize| (v as f64 / 11.0 * 255.0).round() as u8;
        assert_eq!(&data[..3], &[expect(0), expect(2), expect(4)]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
