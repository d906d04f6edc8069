//! Signing key files: created 0600, never overwritten, refused when readable by others.

use std::os::unix::fs::PermissionsExt;

use zegel::keyfile;

#[test]
fn keys_are_private_and_stable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/key");
    let k = keyfile::generate(&path, "zegel.local").unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dir_mode = std::fs::metadata(dir.path().join("sub"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dir_mode, 0o700);
    assert_eq!(keyfile::load(&path).unwrap().verifier(), k.verifier());
    assert!(
        keyfile::generate(&path, "zegel.local").is_err(),
        "never overwrites a key"
    );
    let (again, created) = keyfile::load_or_generate(&path, "zegel.local").unwrap();
    assert!(!created);
    assert_eq!(again.verifier(), k.verifier());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = keyfile::load(&path).unwrap_err().to_string();
    assert!(err.contains("chmod 600"), "{err}");
    assert!(keyfile::generate(&dir.path().join("k2"), "bad name").is_err());
}
