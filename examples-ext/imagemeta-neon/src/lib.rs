//! `t.imagemeta`: an image's format and pixel size read from its header, without decoding it,
//! as a Node-API addon built with neon (loaded in every worker isolate).
//!
//! The reading is plain Rust (`describe`, unit-tested with `cargo test`); the two exported
//! functions only convert between JS values and it. neon generates no TypeScript: the types are
//! declared by hand in `addon.d.ts`, which `titan build ext` turns into `index.d.ts`.

use neon::prelude::*;
use neon::types::buffer::TypedArray;

/// What `probe` and `probeFile` answer.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageInfo {
    /// Lowercase format name: png, jpeg, gif, webp, bmp, ico, tiff, avif, heic, heif, jxl, qoi.
    pub format: &'static str,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

fn format_name(kind: imagesize::ImageType) -> &'static str {
    use imagesize::{Compression, ImageType};
    match kind {
        ImageType::Png => "png",
        ImageType::Jpeg => "jpeg",
        ImageType::Gif => "gif",
        ImageType::Webp => "webp",
        ImageType::Bmp => "bmp",
        ImageType::Ico => "ico",
        ImageType::Tiff => "tiff",
        ImageType::Heif(Compression::Av1) => "avif",
        ImageType::Heif(Compression::Hevc) => "heic",
        ImageType::Heif(_) => "heif",
        ImageType::Jxl => "jxl",
        ImageType::Qoi => "qoi",
        // ImageType is non-exhaustive; the features enabled in Cargo.toml bound what appears.
        _ => "unknown",
    }
}

fn explain(error: imagesize::ImageError) -> String {
    match error {
        imagesize::ImageError::NotSupported => "not an image in a known format (png, jpeg, gif, webp, bmp, ico, tiff, avif/heic, jxl, qoi)".to_owned(),
        imagesize::ImageError::CorruptedImage => "the image header is truncated or corrupt".to_owned(),
        imagesize::ImageError::IoError(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => "too few bytes to hold an image header".to_owned(),
        imagesize::ImageError::IoError(error) => error.to_string(),
    }
}

/// The format and size of the image whose first bytes are `bytes` (a header is enough).
pub fn describe(bytes: &[u8]) -> Result<ImageInfo, String> {
    let kind = imagesize::image_type(bytes).map_err(explain)?;
    let size = imagesize::blob_size(bytes).map_err(explain)?;
    Ok(ImageInfo { format: format_name(kind), width: size.width, height: size.height })
}

/// The format and size of the image in the file at `path`, reading only its header.
pub fn describe_file(path: &str) -> Result<ImageInfo, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|error| format!("cannot open {path}: {error}"))?;
    // Every supported format states its size within the first few KiB (JPEG may need more: it
    // comes after the metadata segments, so fall back to the whole file when the head is short).
    let mut head = Vec::with_capacity(64 * 1024);
    file.take(64 * 1024).read_to_end(&mut head).map_err(|error| format!("cannot read {path}: {error}"))?;
    match describe(&head) {
        Err(_) if head.len() == 64 * 1024 => {
            let whole = std::fs::read(path).map_err(|error| format!("cannot read {path}: {error}"))?;
            describe(&whole)
        }
        answer => answer,
    }
}

fn to_js<'cx>(cx: &mut FunctionContext<'cx>, info: ImageInfo) -> JsResult<'cx, JsObject> {
    let object = cx.empty_object();
    let format = cx.string(info.format);
    object.set(cx, "format", format)?;
    // Pixel sizes fit in a double exactly (formats store them in at most 32 bits).
    let width = cx.number(info.width as f64);
    object.set(cx, "width", width)?;
    let height = cx.number(info.height as f64);
    object.set(cx, "height", height)?;
    Ok(object)
}

/// `t.imagemeta.probe(bytes)`: bytes is a Uint8Array or Buffer, borrowed without a copy.
/// (Taken as any value and checked here, so a wrong type gets an error that names the function.)
#[neon::export]
fn probe<'cx>(cx: &mut FunctionContext<'cx>, bytes: Handle<'cx, JsValue>) -> JsResult<'cx, JsObject> {
    let Ok(bytes) = bytes.downcast::<JsUint8Array, _>(cx) else {
        return cx.throw_type_error("imagemeta.probe: bytes must be a Uint8Array (or Buffer)");
    };
    let described = describe(bytes.as_slice(cx));
    match described {
        Ok(info) => to_js(cx, info),
        Err(message) => cx.throw_error(format!("imagemeta.probe: {message}")),
    }
}

/// `t.imagemeta.probeFile(path)`.
#[neon::export]
fn probe_file<'cx>(cx: &mut FunctionContext<'cx>, path: String) -> JsResult<'cx, JsObject> {
    match describe_file(&path) {
        Ok(info) => to_js(cx, info),
        Err(message) => cx.throw_error(format!("imagemeta.probeFile: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×1 PNG's first 33 bytes (signature + IHDR), sized 640×480.
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    #[test]
    fn reads_a_png_header() {
        assert_eq!(describe(&png_header(640, 480)), Ok(ImageInfo { format: "png", width: 640, height: 480 }));
    }

    #[test]
    fn reads_a_gif_header() {
        let gif = [b'G', b'I', b'F', b'8', b'9', b'a', 3, 0, 2, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(describe(&gif), Ok(ImageInfo { format: "gif", width: 3, height: 2 }));
    }

    #[test]
    fn refuses_what_is_not_an_image() {
        let error = describe(b"hello, this is plain text and not an image").unwrap_err();
        assert!(error.starts_with("not an image in a known format"), "{error}");
        assert_eq!(describe(&[0x89, b'P']).unwrap_err(), "too few bytes to hold an image header");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let error = describe_file("/nonexistent/picture.png").unwrap_err();
        assert!(error.starts_with("cannot open /nonexistent/picture.png:"), "{error}");
    }
}
