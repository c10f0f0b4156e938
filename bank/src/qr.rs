//! QR rendering of activation payloads: terminal text, SVG and PNG.
//!
//! Payload text is upper-case base32 with a `DPIN:` prefix, which the QR
//! encoder carries in its compact alphanumeric mode; error correction is level
//! M (15 % of the symbol may be lost), the usual choice for screens and paper.
// Sizes here come from callers: no arithmetic may overflow silently.
#![deny(clippy::arithmetic_side_effects)]

use qrcode::render::{svg, unicode};
use qrcode::{Color, EcLevel, QrCode};

/// Modules of white border on every side (the QR specification asks for four).
pub const QUIET_ZONE: usize = 4;

/// Why a QR code could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text does not fit any QR version.
    #[error("the text is too long for a QR code")]
    TooLong,
    /// The PNG scale is outside 1 to [`MAX_PNG_SCALE`] pixels per module.
    #[error("a QR code's PNG scale is 1 to {MAX_PNG_SCALE} pixels per module")]
    Scale,
    /// The PNG encoder failed.
    #[error("the PNG image could not be written")]
    Png,
}

/// The QR symbol for `text` at error-correction level M.
///
/// # Errors
/// [`QrError::TooLong`] when `text` does not fit.
pub fn encode(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|_| QrError::TooLong)
}

/// The symbol's version (1–40), to check a payload's size.
///
/// # Errors
/// As [`encode`].
pub fn version(text: &str) -> Result<i16, QrError> {
    match encode(text)?.version() {
        qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => Ok(v),
    }
}

/// The symbol as Unicode half blocks, two rows per line, dark on light, for a terminal.
///
/// # Errors
/// As [`encode`].
pub fn to_terminal(text: &str) -> Result<String, QrError> {
    let code = encode(text)?;
    Ok(code
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .quiet_zone(true)
        .build())
}

/// The symbol as a standalone SVG document.
///
/// # Errors
/// As [`encode`].
pub fn to_svg(text: &str) -> Result<String, QrError> {
    let code = encode(text)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

/// The most pixels per module [`to_png`] draws: 64 makes a version-6 symbol
/// (41 modules and the quiet zone) 3,136 pixels wide, about 10 MB of pixels.
pub const MAX_PNG_SCALE: usize = 64;
/// The widest image [`to_png`] draws, in pixels: a larger symbol (up to
/// version 40, 185 modules with the quiet zone) is drawn at a smaller scale,
/// so an image never exceeds 16 million pixels.
pub const MAX_PNG_SIDE: usize = 4096;

/// The symbol as an 8-bit greyscale PNG, `scale` pixels per module (1 to
/// [`MAX_PNG_SCALE`]; less for a symbol too large for [`MAX_PNG_SIDE`]).
///
/// # Errors
/// As [`encode`], [`QrError::Scale`] outside 1 to [`MAX_PNG_SCALE`], or [`QrError::Png`].
pub fn to_png(text: &str, scale: usize) -> Result<Vec<u8>, QrError> {
    if !(1..=MAX_PNG_SCALE).contains(&scale) {
        return Err(QrError::Scale);
    }
    let code = encode(text)?;
    let modules = code.width();
    let colors = code.to_colors();
    let span = modules
        .checked_add(QUIET_ZONE.saturating_mul(2))
        .ok_or(QrError::Scale)?;
    // A long text makes a large symbol: lower the scale to stay within the budget.
    let fitting = MAX_PNG_SIDE.checked_div(span).unwrap_or(1).max(1);
    let scale = scale.min(fitting);
    let side = span.checked_mul(scale).ok_or(QrError::Scale)?;
    let mut pixels = vec![255u8; side.checked_mul(side).ok_or(QrError::Scale)?];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        // Sizes are bounded above (scale ≤ 64, at most 177 modules), and the
        // arithmetic saturates anyway: a wrong size draws nothing, never panics.
        let mx = (i.checked_rem(modules).unwrap_or(0)).saturating_add(QUIET_ZONE);
        let my = (i.checked_div(modules).unwrap_or(0)).saturating_add(QUIET_ZONE);
        for row in pixels
            .chunks_mut(side)
            .skip(my.saturating_mul(scale))
            .take(scale)
        {
            row.iter_mut()
                .skip(mx.saturating_mul(scale))
                .take(scale)
                .for_each(|p| *p = 0);
        }
    }
    let side32 = u32::try_from(side).map_err(|_| QrError::TooLong)?;
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side32, side32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|_| QrError::Png)?;
    writer.write_image_data(&pixels).map_err(|_| QrError::Png)?;
    writer.finish().map_err(|_| QrError::Png)?;
    Ok(out)
}
