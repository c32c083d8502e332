//! Secrets at rest: TOTP seeds and target credentials are sealed with XChaCha20-Poly1305
//! under a master key kept outside the database (`master.key`, mode 0600). The row's
//! purpose and key (e.g. `totp:alice`) are bound as associated data, so a sealed value
//! copied into another row fails to open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Bytes in a master key.
pub const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

/// The master key. Debug prints `<secret>`; zeroized on drop.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; KEY_BYTES]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<secret>)")
    }
}

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut key = Zeroizing::new([0_u8; KEY_BYTES]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        Self(key)
    }

    /// From the key file's bytes; `None` unless exactly [`KEY_BYTES`] long.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let array: [u8; KEY_BYTES] = bytes.try_into().ok()?;
        Some(Self(Zeroizing::new(array)))
    }

    /// The bytes, for writing the key file.
    pub fn expose_bytes(&self) -> &[u8; KEY_BYTES] {
        &self.0
    }

    /// Seals `plaintext` bound to `context`: nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0_u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| Error::Unseal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`seal`](Self::seal) produced with the same `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_BYTES {
            return Err(Error::Unseal);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::Unseal)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(self.0.as_ref().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_refuse_tampering() {
        let key = MasterKey::generate();
        let sealed = key.seal("totp:alice", b"seed").unwrap();
        assert_eq!(key.open("totp:alice", &sealed).unwrap().as_slice(), b"seed");
        // Moved to another row: refused.
        assert!(matches!(key.open("totp:bob", &sealed), Err(Error::Unseal)));
        // Another key: refused.
        assert!(matches!(
            MasterKey::generate().open("totp:alice", &sealed),
            Err(Error::Unseal)
        ));
        // A flipped bit: refused.
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            key.open("totp:alice", &flipped),
            Err(Error::Unseal)
        ));
        assert!(matches!(
            key.open("totp:alice", &[1, 2, 3]),
            Err(Error::Unseal)
        ));
        assert_eq!(format!("{key:?}"), "MasterKey(<secret>)");
        assert!(MasterKey::from_bytes(&[0; 31]).is_none());
    }
}
