//! Versioned migrations. Each entry runs once, in order, inside one transaction; the
//! database's `user_version` records how many have run. Never edit a shipped migration:
//! append a new one.

pub const MIGRATIONS: &[&str] = &[
    // 1: message log, deliveries, conversation references, full-text index.
    r#"
    CREATE TABLE messages (
        id              INTEGER PRIMARY KEY,
        message_id      TEXT NOT NULL,
        tenant          TEXT NOT NULL,
        sender          TEXT NOT NULL,
        subject         TEXT NOT NULL,
        recipients      TEXT NOT NULL,          -- space-separated, lower-case
        received_at     INTEGER NOT NULL,       -- unix seconds
        disposition     TEXT,
        in_reply_to     TEXT,
        refs            TEXT NOT NULL DEFAULT '[]',  -- JSON array of Message-IDs
        size            INTEGER,
        source_id       TEXT,
        status          TEXT NOT NULL DEFAULT 'delivered',
        retracted_count INTEGER NOT NULL DEFAULT 0,
        actionable_count INTEGER NOT NULL DEFAULT 0,
        UNIQUE (message_id, tenant)
    );
    CREATE INDEX messages_by_time ON messages (received_at DESC);
    CREATE INDEX messages_by_status ON messages (status, received_at DESC);
    CREATE INDEX messages_by_disposition ON messages (disposition, received_at DESC);
    CREATE INDEX messages_by_tenant ON messages (tenant, received_at DESC);

    CREATE VIRTUAL TABLE messages_fts USING fts5 (
        subject, sender, recipients,
        content = 'messages', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, subject, sender, recipients)
        VALUES (new.id, new.subject, new.sender, new.recipients);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, subject, sender, recipients)
        VALUES ('delete', old.id, old.subject, old.sender, old.recipients);
    END;
    CREATE TRIGGER messages_fts_update AFTER UPDATE OF subject, sender, recipients ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, subject, sender, recipients)
        VALUES ('delete', old.id, old.subject, old.sender, old.recipients);
        INSERT INTO messages_fts (rowid, subject, sender, recipients)
        VALUES (new.id, new.subject, new.sender, new.recipients);
    END;

    -- Each logged message's direct parent: In-Reply-To, else the last References entry.
    CREATE TABLE message_refs (
        parent  TEXT NOT NULL,
        child   INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        PRIMARY KEY (parent, child)
    ) WITHOUT ROWID;

    CREATE TABLE deliveries (
        message   INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        recipient TEXT NOT NULL,
        mailbox   TEXT NOT NULL,               -- '' for external recipients
        external  INTEGER NOT NULL,
        status    TEXT NOT NULL DEFAULT 'delivered',
        folder    TEXT,
        PRIMARY KEY (message, recipient)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_by_mailbox ON deliveries (mailbox);
    "#,
    // 2: jobs, items, workers, evidence.
    r#"
    CREATE TABLE jobs (
        id              INTEGER PRIMARY KEY,
        kind            TEXT NOT NULL,
        action          TEXT NOT NULL,
        status          TEXT NOT NULL,
        initiated_by    TEXT NOT NULL,
        ssh_from        TEXT,
        reason          TEXT,
        target          TEXT NOT NULL,
        restores_job    INTEGER REFERENCES jobs (id),
        created_at      INTEGER NOT NULL,      -- unix milliseconds, as every job/item time
        started_at      INTEGER,
        finished_at     INTEGER,
        throttle_note   TEXT
    );

    CREATE TABLE items (
        id             INTEGER PRIMARY KEY,
        job            INTEGER NOT NULL REFERENCES jobs (id),
        tenant         TEXT NOT NULL,
        mailbox        TEXT NOT NULL,
        message_id     TEXT NOT NULL,
        depth          INTEGER NOT NULL,
        log_message    INTEGER REFERENCES messages (id),
        recipient      TEXT,
        state          TEXT NOT NULL,
        outcome        TEXT,
        error          TEXT,
        attempts       INTEGER NOT NULL DEFAULT 0,
        not_before     INTEGER NOT NULL DEFAULT 0,
        claimed_by     TEXT,
        claimed_at     INTEGER,
        placements     TEXT NOT NULL DEFAULT '[]',  -- JSON [Placement]
        planned_folder TEXT,
        on_hold        INTEGER NOT NULL DEFAULT 0,
        restores_item  INTEGER REFERENCES items (id),
        finished_at    INTEGER
    );
    CREATE INDEX items_by_job ON items (job, id);
    CREATE INDEX items_claimable ON items (state, not_before);
    CREATE INDEX items_by_message ON items (message_id);

    -- Engines alive on this store: a claim by a worker whose heartbeat stopped is taken over.
    CREATE TABLE workers (
        id           TEXT PRIMARY KEY,
        host         TEXT NOT NULL,
        pid          INTEGER NOT NULL,
        started_at   INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL
    );

    -- The copy taken before a hard-delete: raw message and its SHA-256.
    CREATE TABLE evidence (
        id         INTEGER PRIMARY KEY,
        item       INTEGER NOT NULL REFERENCES items (id),
        tenant     TEXT NOT NULL,
        mailbox    TEXT NOT NULL,
        message_id TEXT NOT NULL,
        folder     TEXT NOT NULL,
        sha256     TEXT NOT NULL,
        size       INTEGER NOT NULL,
        raw        BLOB NOT NULL,
        taken_at   INTEGER NOT NULL
    );
    CREATE INDEX evidence_by_item ON evidence (item);
    "#,
    // 3: the audit trail, hash-chained and append-only.
    r#"
    CREATE TABLE audit (
        seq       INTEGER PRIMARY KEY,
        at        TEXT NOT NULL,
        actor     TEXT NOT NULL,
        ssh_from  TEXT,
        role      TEXT NOT NULL,
        action    TEXT NOT NULL,
        target    TEXT NOT NULL,
        reason    TEXT,
        outcome   TEXT NOT NULL,
        job       INTEGER,
        detail    TEXT,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
    );
    -- The newest record's hash, kept apart so a cut-off tail is detected too.
    CREATE TABLE audit_head (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        seq  INTEGER NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN
        SELECT RAISE(ABORT, 'the audit trail is append-only');
    END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN
        SELECT RAISE(ABORT, 'the audit trail is append-only');
    END;
    "#,
    // 4: indexes for large jobs: settling a job, claiming in order, finding restores.
    r#"
    CREATE INDEX items_by_job_state ON items (job, state);
    CREATE INDEX items_claim_order ON items (state, job, id);
    CREATE INDEX items_by_restores ON items (restores_item) WHERE restores_item IS NOT NULL;
    "#,
    // 5: running totals of delivery states per message (status without a recount).
    r#"
    ALTER TABLE messages ADD COLUMN restored_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN failed_count INTEGER NOT NULL DEFAULT 0;
    "#,
    // 6: the engine run that has taken a job on, so a job whose engine stopped (its process
    // gone, its lease expired) is found and resumed by the next engine.
    r#"
    ALTER TABLE jobs ADD COLUMN owner TEXT;
    "#,
    // 7: signatures. Each audit record says under whose authority it was written (`service`:
    // the service's key signed it, `sig`; `advisory`: no service, roles were the caller's own
    // claim; NULL: written before this column, hashed as then). A job keeps the exact form
    // the service signed and the signature, so a worker can tell an edited row.
    r#"
    ALTER TABLE audit ADD COLUMN authority TEXT;
    ALTER TABLE audit ADD COLUMN sig TEXT;
    ALTER TABLE jobs ADD COLUMN signed_form TEXT;
    ALTER TABLE jobs ADD COLUMN signature TEXT;
    "#,
    // 8: auto-pull. Alerts as received (one row per (source, id), its revisions kept), the
    // policies' decisions (one per revision: claimed first, so two deciders never both act),
    // and approval requests (a retraction a second person must approve, bound to its plan's
    // hash).
    r#"
    CREATE TABLE alerts (
        id             INTEGER PRIMARY KEY,
        source         TEXT NOT NULL,
        source_id      TEXT NOT NULL,
        revision       INTEGER NOT NULL,
        message_id     TEXT NOT NULL,
        classification TEXT NOT NULL,
        status         TEXT NOT NULL,
        tenant         TEXT,
        body           TEXT NOT NULL,
        received_at    INTEGER NOT NULL,
        updated_at     INTEGER NOT NULL,
        UNIQUE (source, source_id)
    );
    CREATE TABLE alert_revisions (
        alert       INTEGER NOT NULL REFERENCES alerts (id),
        revision    INTEGER NOT NULL,
        body        TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        claimed_by  TEXT,
        claimed_at  INTEGER,
        decided_at  INTEGER,
        PRIMARY KEY (alert, revision)
    );
    CREATE INDEX alert_revisions_undecided ON alert_revisions (received_at)
        WHERE decided_at IS NULL;
    CREATE TABLE decisions (
        id       INTEGER PRIMARY KEY,
        alert    INTEGER NOT NULL REFERENCES alerts (id),
        revision INTEGER NOT NULL,
        rule     TEXT,
        outcome  TEXT NOT NULL,
        rail     TEXT,
        job      INTEGER REFERENCES jobs (id),
        approval INTEGER,
        detail   TEXT NOT NULL,
        at       INTEGER NOT NULL,
        UNIQUE (alert, revision)
    );
    CREATE INDEX decisions_by_job ON decisions (job) WHERE job IS NOT NULL;
    CREATE TABLE approvals (
        id           INTEGER PRIMARY KEY,
        alert        INTEGER REFERENCES alerts (id),
        revision     INTEGER,
        rule         TEXT,
        kind         TEXT NOT NULL,
        action       TEXT NOT NULL,
        target       TEXT NOT NULL,
        reason       TEXT,
        request      TEXT NOT NULL,
        plan_hash    TEXT NOT NULL,
        by_depth     TEXT NOT NULL,
        mailboxes    INTEGER NOT NULL,
        requested_by TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER NOT NULL,
        state        TEXT NOT NULL,
        decided_by   TEXT,
        decided_at   INTEGER,
        decision_reason TEXT,
        job          INTEGER REFERENCES jobs (id)
    );
    CREATE INDEX approvals_by_state ON approvals (state, id);
    "#,
    // 9: where each alert poller (Proofpoint TAP, Defender) got to, so a restarted service
    // resumes from the last window the source answered instead of re-reading or skipping.
    r#"
    CREATE TABLE poller_cursors (
        source     TEXT PRIMARY KEY,
        cursor     TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    "#,
    // 10: evidence found again by message (`retractor evidence` reads a copy a hard-delete
    // took when no mailbox holds one any more).
    r#"
    CREATE INDEX evidence_by_message ON evidence (tenant, message_id);
    "#,
    // 11: phish reports read from the abuse mailbox (`[submissions]`), each recorded before
    // it is moved to the processed folder so none is handled twice.
    r#"
    CREATE TABLE submissions (
        id                  INTEGER PRIMARY KEY,
        tenant              TEXT NOT NULL,
        mailbox             TEXT NOT NULL,
        report_id           TEXT NOT NULL,
        reporter            TEXT NOT NULL,
        original_message_id TEXT,
        format              TEXT NOT NULL,
        outcome             TEXT NOT NULL,
        detail              TEXT NOT NULL,
        alert               TEXT,
        received_at         INTEGER NOT NULL,
        processed_at        INTEGER,
        UNIQUE (tenant, mailbox, report_id)
    );
    CREATE INDEX submissions_by_original ON submissions (original_message_id);
    "#,
    // 12: indicators of compromise a hunt matches against the log; `hunted_to` is the
    // highest log id an indicator's hunt has read, so a hunt resumes where it stopped.
    r#"
    CREATE TABLE indicators (
        id             INTEGER PRIMARY KEY,
        kind           TEXT NOT NULL,
        value          TEXT NOT NULL,
        source         TEXT NOT NULL,
        classification TEXT NOT NULL,
        expires_at     INTEGER,
        added_by       TEXT NOT NULL,
        added_at       INTEGER NOT NULL,
        hunted_to      INTEGER NOT NULL DEFAULT 0,
        UNIQUE (kind, value, source)
    );
    "#,
    // 13: limits every engine on the store keeps together (team mode: several hosts' services
    // on one PostgreSQL): whose turn it is at each mailbox a server limits (one worker at a
    // time; a worker's turns go with it), a server's hold on a mailbox after it throttled,
    // and each tenant's credentials breaker, which stops the items of every job created
    // before it opened.
    r#"
    CREATE TABLE mailbox_turns (
        tenant     TEXT NOT NULL,
        mailbox    TEXT NOT NULL,
        worker     TEXT NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
        taken_at   INTEGER NOT NULL,
        PRIMARY KEY (tenant, mailbox)
    );
    CREATE INDEX mailbox_turns_by_worker ON mailbox_turns (worker);
    CREATE TABLE mailbox_holds (
        tenant     TEXT NOT NULL,
        mailbox    TEXT NOT NULL,
        held_until INTEGER NOT NULL,
        PRIMARY KEY (tenant, mailbox)
    );
    CREATE TABLE tenant_breakers (
        tenant    TEXT PRIMARY KEY,
        reason    TEXT NOT NULL,
        opened_at INTEGER NOT NULL
    );
    "#,
    // 14: how far the mailbox hunt has read each mailbox: every indicator of `indicators`
    // (ids, comma-separated) was matched against the copies received there before
    // `hunted_until`. Removing any indicator clears every mark (SQLite may give a removed
    // id to the next indicator added, which must not inherit the removed one's marks).
    r#"
    CREATE TABLE mailbox_hunt_marks (
        tenant       TEXT NOT NULL,
        mailbox      TEXT NOT NULL,
        hunted_until INTEGER NOT NULL,
        indicators   TEXT NOT NULL,
        PRIMARY KEY (tenant, mailbox)
    );
    "#,
];
