-- Compute emulation: the nodes of each AmlCompute cluster and the runs waiting for them.

CREATE TABLE nodes (
  target      TEXT NOT NULL REFERENCES compute_targets(name) ON DELETE CASCADE,
  node_index  INTEGER NOT NULL,
  state       TEXT NOT NULL,    -- preparing, idle, running, leaving, preempted, unusable
  run_id      TEXT,             -- the run holding the node (running)
  state_since INTEGER NOT NULL, -- epoch ms when the state began
  ready_at    INTEGER NOT NULL, -- epoch ms when a preparing node becomes idle
  gpus        TEXT NOT NULL DEFAULT '[]',  -- JSON list of the GPU UUIDs given to the node
  PRIMARY KEY (target, node_index)
);

-- Runs waiting in Queued for nodes, first come first served per cluster.
CREATE TABLE node_queue (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id     TEXT NOT NULL UNIQUE,
  target     TEXT NOT NULL,
  node_count INTEGER NOT NULL,
  enqueued   INTEGER NOT NULL   -- epoch ms
);

-- The supervisor's process start time (clock ticks since boot, /proc/<pid>/stat), so a reused
-- pid after a restart is not mistaken for a live supervisor.
ALTER TABLE runs ADD COLUMN supervisor_start INTEGER;
