//! The service's signing key: an Ed25519 seed in a 0600 file of the service account's state
//! directory, and its public half beside it for `audit verify` (which needs no secret).
//!
//! Every signature is over a purpose tag and the message, so a signature made for one use
//! (an audit record) can never be replayed as another (a job).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::{KeyRing, RetiredKey, TrustError};

/// The secret key's file name in the state directory.
pub const KEY_FILE: &str = "service.key";
/// The public key's file name in the state directory.
pub const PUBLIC_KEY_FILE: &str = "service.pub";

const SECRET_TAG: &str = "retractor-ed25519-secret-v1";
const PUBLIC_TAG: &str = "retractor-ed25519-public-v1";

/// What a signature is for; part of every signed message (domain separation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// One audit record: its sequence number and chain hash.
    AuditRecord,
    /// A job as the service created it: id, action, targets, initiator, approvals.
    Job,
    /// A witness entry: the chain head at a moment.
    WitnessEntry,
}

impl Purpose {
    fn tag(self) -> &'static [u8] {
        match self {
            Purpose::AuditRecord => b"retractor audit record v1\0",
            Purpose::Job => b"retractor job v1\0",
            Purpose::WitnessEntry => b"retractor witness entry v1\0",
        }
    }
}

fn signed_bytes(purpose: Purpose, message: &[u8]) -> Vec<u8> {
    let mut bytes = purpose.tag().to_vec();
    bytes.extend_from_slice(message);
    bytes
}

/// The service's private key, and the retired keys it still trusts (`[service]
/// trusted_keys`). Never logged, never shown: `Debug` prints the fingerprint.
pub struct ServiceKey {
    signing: SigningKey,
    /// Its own public half, and the retired keys.
    ring: KeyRing,
}

impl std::fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ServiceKey({})", self.public().fingerprint())
    }
}

impl ServiceKey {
    /// The key in `dir`, created (0600, with its public half 0644) on first use. A key file
    /// that group or others can read, or that is a link, is refused: someone else may know it.
    pub fn load_or_create(dir: &Path) -> Result<ServiceKey, TrustError> {
        let path = dir.join(KEY_FILE);
        match ServiceKey::load(&path) {
            Ok(key) => {
                key.write_public(dir)?;
                Ok(key)
            }
            Err(TrustError::Io { .. }) if !path.exists() => ServiceKey::create(dir),
            Err(e) => Err(e),
        }
    }

    /// The service's key where the config puts it (`[service] key_dir`), created on first
    /// use, trusting the retired keys of `[service] trusted_keys`.
    pub fn configured(config: &crate::config::Config) -> Result<ServiceKey, String> {
        let dir = config.service.key_dir_for(&config.store_path);
        let key = ServiceKey::load_or_create(&dir).map_err(|e| e.to_string())?;
        let retired = RetiredKey::load_all(&config.service.trusted_keys)
            .map_err(|e| format!("[service] trusted_keys: {e}"))?;
        key.trusting(retired)
    }

    /// Read a key file (refusing loose modes and links).
    pub fn load(path: &Path) -> Result<ServiceKey, TrustError> {
        let meta = std::fs::symlink_metadata(path).map_err(|e| TrustError::io(path, e))?;
        if !meta.file_type().is_file() {
            return Err(TrustError::invalid(path, "not a regular file"));
        }
        let bytes = crate::config::secret::read_private_file(path)
            .map_err(|reason| TrustError::invalid(path, reason))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| TrustError::invalid(path, "not a retractor key file"))?;
        let seed = decode_tagged(text.trim(), SECRET_TAG)
            .ok_or_else(|| TrustError::invalid(path, "not a retractor key file"))?;
        Ok(ServiceKey::from_signing(SigningKey::from_bytes(&seed)))
    }

    fn create(dir: &Path) -> Result<ServiceKey, TrustError> {
        let seed: [u8; 32] = rand::random();
        let key = ServiceKey::from_signing(SigningKey::from_bytes(&seed));
        let path = dir.join(KEY_FILE);
        // O_EXCL: two services starting at once never overwrite each other's key.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| TrustError::io(&path, e))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| TrustError::io(&path, e))?;
        writeln!(file, "{SECRET_TAG} {}", STANDARD.encode(seed))
            .and_then(|_| file.sync_all())
            .map_err(|e| TrustError::io(&path, e))?;
        key.write_public(dir)?;
        Ok(key)
    }

    /// Write (or rewrite) the public half, world-readable: verifying needs no secret.
    fn write_public(&self, dir: &Path) -> Result<(), TrustError> {
        let path = dir.join(PUBLIC_KEY_FILE);
        let text = format!("{}\n", self.public().to_text());
        if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
            return Ok(());
        }
        let tmp = dir.join(format!(".{PUBLIC_KEY_FILE}.{}", std::process::id()));
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|_| f.sync_all()))
            .and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(TrustError::io(&path, e));
        }
        Ok(())
    }

    /// The key that also trusts `retired` (`[service] trusted_keys`, read by
    /// [`RetiredKey::load_all`]); an entry that is this key itself, or a repeat, is refused.
    pub fn trusting(mut self, retired: Vec<RetiredKey>) -> Result<ServiceKey, String> {
        self.ring = KeyRing::new(self.public(), retired)?;
        Ok(self)
    }

    /// Every key whose signatures this service accepts: its own and the retired ones.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    fn from_signing(signing: SigningKey) -> ServiceKey {
        let public = PublicKey {
            verifying: signing.verifying_key(),
        };
        ServiceKey {
            signing,
            ring: KeyRing::single(public),
        }
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            verifying: self.signing.verifying_key(),
        }
    }

    /// Sign `message` for `purpose`; the signature as base64 text.
    pub fn sign(&self, purpose: Purpose, message: &[u8]) -> String {
        STANDARD.encode(
            self.signing
                .sign(&signed_bytes(purpose, message))
                .to_bytes(),
        )
    }
}

/// The service's public key: checks signatures, needs no secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKey {
    verifying: VerifyingKey,
}

impl PublicKey {
    /// Read a public key file (`service.pub`).
    pub fn from_file(path: &Path) -> Result<PublicKey, TrustError> {
        let text = std::fs::read_to_string(path).map_err(|e| TrustError::io(path, e))?;
        PublicKey::from_text(&text)
            .ok_or_else(|| TrustError::invalid(path, "not a retractor public key file"))
    }

    /// The key from its text form (`retractor-ed25519-public-v1 <base64>`).
    pub fn from_text(text: &str) -> Option<PublicKey> {
        let bytes = decode_tagged(text.trim(), PUBLIC_TAG)?;
        VerifyingKey::from_bytes(&bytes)
            .ok()
            .map(|verifying| PublicKey { verifying })
    }

    /// The text form, one line.
    pub fn to_text(&self) -> String {
        format!(
            "{PUBLIC_TAG} {}",
            STANDARD.encode(self.verifying.to_bytes())
        )
    }

    /// A short name for the key (first 16 hex digits of its SHA-256), for reports.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::digest(self.verifying.to_bytes());
        hex::encode(&digest[..8])
    }

    /// Whether `signature` (base64) is this key's over `message` for `purpose`. Strict
    /// verification: malleable or small-order encodings are refused.
    pub fn verify(&self, purpose: Purpose, message: &[u8], signature: &str) -> bool {
        let Ok(bytes) = STANDARD.decode(signature.trim()) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.verifying
            .verify_strict(&signed_bytes(purpose, message), &signature)
            .is_ok()
    }
}

/// The 32 bytes after `tag ` in `text`, if that is what it holds.
fn decode_tagged(text: &str, tag: &str) -> Option<[u8; 32]> {
    let rest = text.strip_prefix(tag)?.strip_prefix(' ')?;
    STANDARD.decode(rest.trim()).ok()?.try_into().ok()
}

/// Where the service keeps its key: the store's directory (the service's 0700 state dir).
pub fn key_dir(store_path: &Path) -> PathBuf {
    store_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// A new key in a temporary directory (the directory lives as long as the key is used).
#[cfg(test)]
pub(crate) fn temp_key() -> (tempfile::TempDir, ServiceKey) {
    let dir = tempfile::tempdir().unwrap();
    let key = ServiceKey::load_or_create(dir.path()).unwrap();
    (dir, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_is_private_and_its_signatures_verify_only_for_their_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let key = ServiceKey::load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let public = PublicKey::from_file(&dir.path().join(PUBLIC_KEY_FILE)).unwrap();
        assert_eq!(public, key.public());
        let sig = key.sign(Purpose::AuditRecord, b"7:abcd");
        assert!(public.verify(Purpose::AuditRecord, b"7:abcd", &sig));
        assert!(!public.verify(Purpose::AuditRecord, b"7:abce", &sig));
        assert!(!public.verify(Purpose::Job, b"7:abcd", &sig));
        assert!(!public.verify(Purpose::AuditRecord, b"7:abcd", "not base64!"));
        // The same key comes back on the next start.
        let again = ServiceKey::load_or_create(dir.path()).unwrap();
        assert_eq!(again.public(), key.public());
        assert!(!format!("{key:?}").contains(&STANDARD.encode(key.signing.to_bytes())));
    }

    #[test]
    fn a_key_others_can_read_or_a_link_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        ServiceKey::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = ServiceKey::load_or_create(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("readable by group or others"), "{e}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link_dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(&path, link_dir.path().join(KEY_FILE)).unwrap();
        let e = ServiceKey::load_or_create(link_dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[test]
    fn a_garbled_key_file_is_named_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        std::fs::write(&path, "hello\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = ServiceKey::load_or_create(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a retractor key file"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "hello\n");
    }
}
