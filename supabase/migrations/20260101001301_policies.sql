-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: policies/*.sql

