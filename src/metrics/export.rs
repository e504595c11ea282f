//! Samples as a NumPy array, for scoring with other tools (`numpy.load`, torch-fidelity, …).

use std::path::Path;

use anyhow::{Result, ensure};
use tch::{Device, Kind, Tensor};

/// Writes images `[N, C, H, W]` in [-1, 1] as a `.npy` file of `uint8` with shape `[N, H, W, C]`
/// (the layout image tools expect), atomically.
pub fn save_npy(images: &Tensor, path: impl AsRef<Path>) -> Result<()> {
    ensure!(
        images.dim() == 4,
        "images must be [N, C, H, W], got {:?}",
        images.size()
    );
    let bytes = ((images.detach().to_device(Device::Cpu).to_kind(Kind::Float) + 1.0) * 127.5)
        .round()
        .clamp(0.0, 255.0)
        .to_kind(Kind::Uint8)
        .permute([0, 2, 3, 1])
        .contiguous();
    let s = bytes.size();
    let mut data = vec![0u8; bytes.numel()];
    bytes.copy_data(&mut data, bytes.numel());
    crate::viz::write_atomic(path.as_ref(), &npy_bytes(&s, &data))
}

/// The NPY 1.0 format: magic, version, a little-endian header length, a Python dict literal
/// padded with spaces to a multiple of 64 bytes and ended by a newline, then the raw data.
fn npy_bytes(shape: &[i64], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}");
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
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
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(
            header.contains("'shape': (2, 1, 2, 3)") && header.ends_with('\n'),
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
