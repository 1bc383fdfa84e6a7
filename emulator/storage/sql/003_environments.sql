-- Registered environment definitions (`amlemu environment create --file env.yml`), versioned.
CREATE TABLE environments (
  name         TEXT NOT NULL,
  version      TEXT NOT NULL,
  definition   TEXT NOT NULL,  -- JSON: image, pipPackages, condaPackages, description, tags
  created_time TEXT NOT NULL,
  PRIMARY KEY (name, version)
);
