//! What kind of risk a rule finds, and how much it matters.

use std::fmt;
use std::str::FromStr;

/// What kind of risk a rule finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Data leaves its database or directory in bulk (`pg_dump`, `tar` of a data directory).
    DataExport,
    /// Data or systems are destroyed or stopped (`rm -r`, `mkfs`, `DROP TABLE`).
    Destructive,
    /// Accounts, passwords, keys or privileges change (`useradd`, `visudo`, `GRANT`).
    AccountChange,
    /// Logs, shell history or the clock are tampered with (R-17-2, R-17-3).
    LogTampering,
    /// Files move to or from somewhere other than through fumidai (`scp host:`, `curl`).
    OutboundTransfer,
    /// A firewall, SELinux, a virus scanner or the SSH server's configuration is weakened.
    SecurityDisabled,
    /// A connection onwards or a tunnel: a path that bypasses the gateway (R-13-7).
    RemoteAccess,
    /// Code run from a form the line doesn't show: decoded (`base64 -d | sh`), fetched
    /// (`curl … | bash`) or built at run time (`eval "$(…)"`).
    ObfuscatedExecution,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 8] = [
        Category::DataExport,
        Category::Destructive,
        Category::AccountChange,
        Category::LogTampering,
        Category::OutboundTransfer,
        Category::SecurityDisabled,
        Category::RemoteAccess,
        Category::ObfuscatedExecution,
    ];

    /// Stable name, as rule files and the JSON report spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::DataExport => "data-export",
            Category::Destructive => "destructive",
            Category::AccountChange => "account-change",
            Category::LogTampering => "log-tampering",
            Category::OutboundTransfer => "outbound-transfer",
            Category::SecurityDisabled => "security-disabled",
            Category::RemoteAccess => "remote-access",
            Category::ObfuscatedExecution => "obfuscated-execution",
        }
    }

    /// The category in Japanese, for reports.
    pub fn japanese(self) -> &'static str {
        match self {
            Category::DataExport => "データの持出し",
            Category::Destructive => "破壊的な操作",
            Category::AccountChange => "アカウント・権限の変更",
            Category::LogTampering => "ログ・履歴の改ざん",
            Category::OutboundTransfer => "外部との転送",
            Category::SecurityDisabled => "セキュリティ機能の無効化",
            Category::RemoteAccess => "他への接続・トンネル",
            Category::ObfuscatedExecution => "内容を隠した実行",
        }
    }

    /// The category in English, for reports.
    pub fn english(self) -> &'static str {
        match self {
            Category::DataExport => "data export",
            Category::Destructive => "destructive command",
            Category::AccountChange => "account or privilege change",
            Category::LogTampering => "log or history tampering",
            Category::OutboundTransfer => "transfer with elsewhere",
            Category::SecurityDisabled => "security tool disabled",
            Category::RemoteAccess => "onward connection or tunnel",
            Category::ObfuscatedExecution => "obfuscated execution",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// How much a finding or a risky command matters, from information to critical. Ordered:
/// `Info < Low < … < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; nothing to confirm.
    Info,
    /// A minor difference from the plan.
    Low,
    /// The planning manager should look at it.
    Medium,
    /// A difference the planning manager must explain or accept.
    High,
    /// A likely breach of a requirement; look at the recording.
    Critical,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// Stable name, as rule files and the JSON report spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The severity in Japanese, for reports.
    pub fn japanese(self) -> &'static str {
        match self {
            Severity::Info => "情報",
            Severity::Low => "低",
            Severity::Medium => "中",
            Severity::High => "高",
            Severity::Critical => "重大",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownName(s.to_owned()))
    }
}

/// A category or severity name that is none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);
