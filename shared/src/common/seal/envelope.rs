//! The sealed format: `[kind][wrapped key length: u16 BE][wrapped key][nonce: 12][ciphertext]`,
//! the plaintext encrypted with AES-256-GCM under a data key that is itself wrapped (by KMS) or
//! implied (the local sealer's key).

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::common::seal::SealError;
use crate::common::secret::{SealedSecret, Secret};

const NONCE_LEN: usize = 12;

/// Which sealer made an envelope; an envelope only opens with its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    #[cfg_attr(
        not(feature = "aws"),
        expect(dead_code, reason = "made by the KMS sealer, an adapter")
    )]
    Kms = 1,
    Local = 0x4c,
}

pub struct Opened<'a> {
    #[cfg_attr(
        not(feature = "aws"),
        expect(dead_code, reason = "read by the KMS sealer, an adapter")
    )]
    pub wrapped_key: &'a [u8],
    nonce: &'a [u8],
    ciphertext: &'a [u8],
}

pub fn seal(
    kind: Kind,
    data_key: &[u8],
    wrapped_key: &[u8],
    aad: &[u8],
    secret: &Secret,
) -> Result<SealedSecret, SealError> {
    let cipher = cipher(data_key)?;
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: secret.expose().as_bytes(),
                aad,
            },
        )
        .map_err(|_| SealError::Unreadable)?;
    let wrapped_len = u16::try_from(wrapped_key.len()).map_err(|_| SealError::Unreadable)?;
    let mut out = Vec::with_capacity(3 + wrapped_key.len() + NONCE_LEN + ciphertext.len());
    out.push(kind as u8);
    out.extend_from_slice(&wrapped_len.to_be_bytes());
    out.extend_from_slice(wrapped_key);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(SealedSecret::from_bytes(out))
}

/// Splits an envelope of the expected kind into its parts.
pub fn parse(kind: Kind, sealed: &SealedSecret) -> Result<Opened<'_>, SealError> {
    let bytes = sealed.as_bytes();
    let (&first, rest) = bytes.split_first().ok_or(SealError::Unreadable)?;
    if first != kind as u8 || rest.len() < 2 {
        return Err(SealError::Unreadable);
    }
    let wrapped_len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
    let rest = &rest[2..];
    if rest.len() < wrapped_len + NONCE_LEN {
        return Err(SealError::Unreadable);
    }
    let (wrapped_key, rest) = rest.split_at(wrapped_len);
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    Ok(Opened {
        wrapped_key,
        nonce,
        ciphertext,
    })
}

pub fn open(opened: &Opened<'_>, data_key: &[u8], aad: &[u8]) -> Result<Secret, SealError> {
    let plain = cipher(data_key)?
        .decrypt(
            Nonce::from_slice(opened.nonce),
            Payload {
                msg: opened.ciphertext,
                aad,
            },
        )
        .map_err(|_| SealError::Unreadable)?;
    let text = String::from_utf8(plain).map_err(|_| SealError::Unreadable)?;
    Secret::parse(&text).map_err(|_| SealError::Unreadable)
}

fn cipher(data_key: &[u8]) -> Result<Aes256Gcm, SealError> {
    if data_key.len() != 32 {
        return Err(SealError::Unreadable);
    }
    Ok(Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(data_key)))
}
