-- The rows the SQLite migrations seed (registries 1 and 2, the system catalog items), for a fresh PostgreSQL database.
INSERT INTO "registry" ("id", "url", "is_public", "username", "password_enc", "user_email", "created_at", "updated_at") VALUES (1, 'docker.io', 1, '', '', '', 0, 0), (2, 'from_cache', 1, '', '', '', 0, 0);
--> statement-breakpoint
INSERT INTO "catalog_item" ("name", "description", "category", "publisher", "registry_id", "images", "created_at", "updated_at") VALUES
('Router', 'The fog''s message router (system microservice)', 'SYSTEM', 'Eclipse ioFog', 1, '[{"containerImage":"ghcr.io/eclipse-iofog/router:latest","archId":1},{"containerImage":"ghcr.io/eclipse-iofog/router:latest","archId":2},{"containerImage":"ghcr.io/eclipse-iofog/router:latest","archId":4}]', 0, 0),
('NATS', 'The fog''s NATS server or leaf node (system microservice)', 'SYSTEM', 'Eclipse ioFog', 1, '[{"containerImage":"nats:2.10-alpine","archId":1},{"containerImage":"nats:2.10-alpine","archId":2},{"containerImage":"nats:2.10-alpine","archId":4}]', 0, 0),
('Debug', 'Node debugger shell (system microservice for fog exec)', 'SYSTEM', 'Eclipse ioFog', 1, '[{"containerImage":"ghcr.io/eclipse-iofog/debugger:latest","archId":1},{"containerImage":"ghcr.io/eclipse-iofog/debugger:latest","archId":2}]', 0, 0);
--> statement-breakpoint
-- The registry ids were given explicitly: move the sequence past them so the next registry gets id 3.
SELECT setval(pg_get_serial_sequence('registry', 'id'), (SELECT max("id") FROM "registry"));
