//! Samples as a NumPy array, for scoring with other tools (`numpy.load`, torch-fidelity, …).

use std::io::Write;
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
    let size = images.size();
    save_npy_batches(path, size[0] as usize, [size[1], size[2], size[3]], |npy| {
        npy.write(images)
    })
}

/// Writes `n` images of shape `[C, H, W]` as [`save_npy`] does, one batch at a time: `write`
/// hands them to [`NpyWriter::write`] in batches `[B, C, H, W]`, so that only one batch is ever
/// in memory (`gans sample --n 100000 --out samples.npy`). Atomic: the file appears whole, once
/// all `n` images are written, or not at all.
pub fn save_npy_batches(
    path: impl AsRef<Path>,
    n: usize,
    shape: [i64; 3],
    write: impl FnOnce(&mut NpyWriter) -> Result<()>,
) -> Result<()> {
    crate::files::replace_atomically(path.as_ref(), |temp| {
        let mut npy = NpyWriter::create(temp, n, shape)?;
        write(&mut npy)?;
        npy.finish()
    })
}

/// A `.npy` file of `uint8` images `[N, H, W, C]` being written batch by batch (see
/// [`save_npy_batches`]).
pub struct NpyWriter {
    file: std::io::BufWriter<std::fs::File>,
    n: usize,
    shape: [i64; 3],
    written: usize,
}

impl NpyWriter {
    fn create(path: &Path, n: usize, shape: [i64; 3]) -> Result<Self> {
        let [c, h, w] = shape;
        let mut header =
            format!("{{'descr': '<u1', 'fortran_order': False, 'shape': ({n},{h},{w},{c},), }}")
                .into_bytes();
        // The data starts at a multiple of 16 bytes, after spaces and a newline, as numpy
        // writes it: 10 bytes of magic, version and length, then the header.
        let unpadded = 10 + header.len() + 1;
        header.resize(header.len() + (16 - unpadded % 16) % 16, b' ');
        header.push(b'\n');
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        file.write_all(b"\x93NUMPY\x01\x00")?;
        file.write_all(&(header.len() as u16).to_le_bytes())?;
        file.write_all(&header)?;
        Ok(NpyWriter {
            file,
            n,
            shape,
            written: 0,
        })
    }

    /// Appends the images `[B, C, H, W]` in [-1, 1].
    pub fn write(&mut self, images: &Tensor) -> Result<()> {
        let size = images.size();
        ensure!(
            size.len() == 4 && size[1..] == self.shape[..],
            "images must be [B, {}, {}, {}], got {size:?}",
            self.shape[0],
            self.shape[1],
            self.shape[2]
        );
        let b = size[0] as usize;
        ensure!(
            self.written + b <= self.n,
            "{} more images would pass the {} the .npy file holds",
            b,
            self.n
        );
        let bytes = crate::viz::to_u8(images)
            .permute([0, 2, 3, 1])
            .contiguous()
            .view([-1]);
        self.file.write_all(&Vec::<u8>::try_from(&bytes)?)?;
        self.written += b;
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        ensure!(
            self.written == self.n,
            "{} images written of the {} the .npy file announces",
            self.written,
            self.n
        );
        self.file.flush()?;
        Ok(())
    }
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
