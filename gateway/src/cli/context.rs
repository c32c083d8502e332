//! What every operator command needs: the data directory's configuration, the master key
//! and the store, opened once.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use store::{Actor, MasterKey, Store};

use fumidai_core::config::Config;
use fumidai_core::datadir::{self, DataDir};

/// An opened data directory.
pub struct Context {
    /// Where it is.
    pub dir: DataDir,
    /// Its configuration.
    pub config: Config,
    /// The raw configuration text (its digest goes into the audit trail on `serve`).
    pub config_text: String,
    /// The store.
    pub store: Arc<dyn Store>,
}

impl Context {
    /// Opens `root`, with an error that says what to do when it isn't initialised.
    pub async fn open(root: &Path) -> anyhow::Result<Self> {
        let dir = DataDir::new(root);
        if !dir.config().exists() {
            anyhow::bail!(
                "{} is not a fumidai data directory (no fumidai.toml); create one with `fumidai init --data-dir {}`",
                root.display(),
                root.display()
            );
        }
        let (config, config_text) = Config::load(&dir.config())?;
        let key_bytes = datadir::read_secret(&dir.master_key()).with_context(|| {
            format!("cannot read the master key {}", dir.master_key().display())
        })?;
        let master_key = MasterKey::from_bytes(&key_bytes).with_context(|| {
            format!("{} is not a 32-byte master key", dir.master_key().display())
        })?;
        let url = dir.resolve_database_url(&config.database.url);
        let store = store::open(&url, master_key)
            .await
            .context("cannot open the database")?;
        Ok(Self {
            dir,
            config,
            config_text,
            store,
        })
    }
}

/// The actor recorded for commands typed at the gateway's console.
pub(crate) fn cli_actor() -> Actor {
    let os_user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    Actor::Cli { os_user }
}
