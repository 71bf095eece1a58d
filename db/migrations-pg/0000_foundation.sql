CREATE TABLE "agent_jti_batch" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"expires_at" bigint NOT NULL,
	"ids" text NOT NULL,
	"digests" "bytea"
);
--> statement-breakpoint
CREATE TABLE "application" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"is_activated" bigint DEFAULT 0 NOT NULL,
	"is_system" bigint DEFAULT 0 NOT NULL,
	"nats_access" bigint DEFAULT 0 NOT NULL,
	"nats_rule" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "application_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "application_template" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"variables" text DEFAULT '[]' NOT NULL,
	"application" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "application_template_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "audit_event" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"timestamp" bigint NOT NULL,
	"event_type" text NOT NULL,
	"endpoint_type" text NOT NULL,
	"actor_id" text,
	"method" text,
	"resource_type" text,
	"resource_id" text,
	"endpoint_path" text NOT NULL,
	"ip_address" text,
	"status" text NOT NULL,
	"status_code" bigint,
	"status_message" text,
	"request_id" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth_bff_session" (
	"state_hash" text PRIMARY KEY NOT NULL,
	"verifier" text NOT NULL,
	"nonce" text NOT NULL,
	"expires_at" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth_code" (
	"code_hash" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"client_id" text NOT NULL,
	"redirect_uri" text NOT NULL,
	"code_challenge" text NOT NULL,
	"nonce" text,
	"expires_at" bigint NOT NULL,
	"used_at" bigint,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth_group" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"is_system" bigint DEFAULT 0 NOT NULL,
	"mfa_required" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth_interaction" (
	"uid" text PRIMARY KEY NOT NULL,
	"params" text NOT NULL,
	"user_id" text,
	"step" text NOT NULL,
	"expires_at" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth_login_failure" (
	"user_id" text NOT NULL,
	"client_ip" text NOT NULL,
	"failed_attempts" bigint DEFAULT 0 NOT NULL,
	"locked_until" bigint,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "auth_login_failure_user_id_client_ip_pk" PRIMARY KEY("user_id","client_ip")
);
--> statement-breakpoint
CREATE TABLE "auth_mfa" (
	"user_id" text PRIMARY KEY NOT NULL,
	"secret_enc" text NOT NULL,
	"enabled" bigint DEFAULT 0 NOT NULL,
	"last_used_step" bigint,
	"created_at" bigint NOT NULL,
	"confirmed_at" bigint
);
--> statement-breakpoint
CREATE TABLE "auth_password_history" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"password_hash" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth_recovery_code" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"code_hash" text NOT NULL,
	"used_at" bigint
);
--> statement-breakpoint
CREATE TABLE "auth_refresh_token" (
	"jti_hash" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"family_id" text NOT NULL,
	"expires_at" bigint NOT NULL,
	"rotated_at" bigint,
	"revoked_at" bigint,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth_reset_token" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"expires_at" bigint NOT NULL,
	"used_at" bigint,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth_signing_key" (
	"kid" text PRIMARY KEY NOT NULL,
	"alg" text NOT NULL,
	"private_jwk_enc" text NOT NULL,
	"public_jwk" text NOT NULL,
	"active" bigint DEFAULT 1 NOT NULL,
	"created_at" bigint NOT NULL,
	"retired_at" bigint,
	"publish_until" bigint
);
--> statement-breakpoint
CREATE TABLE "auth_user" (
	"id" text PRIMARY KEY NOT NULL,
	"email" text NOT NULL,
	"password_hash" text NOT NULL,
	"must_change_password" bigint DEFAULT 0 NOT NULL,
	"is_bootstrap" bigint DEFAULT 0 NOT NULL,
	"failed_attempts" bigint DEFAULT 0 NOT NULL,
	"locked_until" bigint,
	"token_generation" bigint DEFAULT 0 NOT NULL,
	"password_changed_at" bigint NOT NULL,
	"deleted_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auth_user_group" (
	"user_id" text NOT NULL,
	"group_id" text NOT NULL,
	CONSTRAINT "auth_user_group_user_id_group_id_pk" PRIMARY KEY("user_id","group_id")
);
--> statement-breakpoint
CREATE TABLE "catalog_item" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"category" text DEFAULT '' NOT NULL,
	"publisher" text DEFAULT '' NOT NULL,
	"picture" text DEFAULT '' NOT NULL,
	"config_example" text DEFAULT '{}' NOT NULL,
	"disk_required" bigint DEFAULT 0 NOT NULL,
	"ram_required" bigint DEFAULT 0 NOT NULL,
	"is_public" bigint DEFAULT 1 NOT NULL,
	"registry_id" bigint DEFAULT 1 NOT NULL,
	"images" text DEFAULT '[]' NOT NULL,
	"input_type" text,
	"output_type" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "catalog_item_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "certificate" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"subject" text NOT NULL,
	"hosts" text DEFAULT '' NOT NULL,
	"is_ca" bigint DEFAULT 0 NOT NULL,
	"valid_from" bigint NOT NULL,
	"valid_to" bigint NOT NULL,
	"serial_number" text NOT NULL,
	"signed_by_id" bigint,
	"expiration" bigint,
	"secret_name" text NOT NULL,
	"imported" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "certificate_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "cluster_controller" (
	"uuid" text PRIMARY KEY NOT NULL,
	"host" text,
	"process_id" bigint,
	"version" text,
	"last_heartbeat" bigint,
	"is_active" bigint DEFAULT 1 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "config_entry" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "config_map" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"immutable" bigint DEFAULT 0 NOT NULL,
	"use_vault" bigint DEFAULT 0 NOT NULL,
	"data" text DEFAULT '{}' NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "config_map_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "controller_setting" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fog" (
	"uuid" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"location" text DEFAULT '' NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"gps_mode" text DEFAULT 'auto' NOT NULL,
	"latitude" double precision,
	"longitude" double precision,
	"arch_id" bigint DEFAULT 0 NOT NULL,
	"is_system" bigint DEFAULT 0 NOT NULL,
	"network_interface" text DEFAULT 'dynamic' NOT NULL,
	"container_engine" text DEFAULT 'edgelet' NOT NULL,
	"container_engine_url" text DEFAULT 'unix:///run/containerd/containerd.sock' NOT NULL,
	"deployment_type" text DEFAULT 'native' NOT NULL,
	"disk_limit" double precision DEFAULT 50 NOT NULL,
	"disk_directory" text DEFAULT '/var/lib/edgelet/' NOT NULL,
	"memory_limit" double precision DEFAULT 4096 NOT NULL,
	"cpu_limit" double precision DEFAULT 80 NOT NULL,
	"log_limit" double precision DEFAULT 10 NOT NULL,
	"log_directory" text DEFAULT '/var/log/iofog/' NOT NULL,
	"log_file_count" bigint DEFAULT 10 NOT NULL,
	"status_frequency" bigint DEFAULT 10 NOT NULL,
	"change_frequency" bigint DEFAULT 20 NOT NULL,
	"gps_device" text DEFAULT '' NOT NULL,
	"gps_scan_frequency" bigint DEFAULT 60 NOT NULL,
	"edge_guard_frequency" bigint DEFAULT 0 NOT NULL,
	"watchdog_enabled" bigint DEFAULT 1 NOT NULL,
	"pruning_frequency" bigint DEFAULT 0 NOT NULL,
	"available_disk_threshold" double precision DEFAULT 20 NOT NULL,
	"log_level" text DEFAULT 'INFO' NOT NULL,
	"time_zone" text DEFAULT 'Etc/UTC' NOT NULL,
	"upgrade_scan_frequency" bigint,
	"host" text,
	"router_mode" text DEFAULT 'edge' NOT NULL,
	"messaging_port" bigint DEFAULT 5671 NOT NULL,
	"inter_router_port" bigint,
	"edge_router_port" bigint,
	"upstream_routers" text,
	"network_router" text,
	"nats_mode" text DEFAULT 'leaf' NOT NULL,
	"nats_server_port" bigint DEFAULT 4222 NOT NULL,
	"nats_leaf_port" bigint DEFAULT 7422 NOT NULL,
	"nats_cluster_port" bigint DEFAULT 6222 NOT NULL,
	"nats_mqtt_port" bigint DEFAULT 8883 NOT NULL,
	"nats_http_port" bigint DEFAULT 8222 NOT NULL,
	"js_storage_size" text DEFAULT '10g' NOT NULL,
	"js_memory_store_size" text DEFAULT '1g' NOT NULL,
	"upstream_nats_servers" text,
	"bluetooth_enabled" bigint DEFAULT 0 NOT NULL,
	"abstracted_hardware_enabled" bigint DEFAULT 0 NOT NULL,
	"tags" text DEFAULT '[]' NOT NULL,
	"spec_generation" bigint DEFAULT 1 NOT NULL,
	"daemon_status" text DEFAULT 'NOT_PROVISIONED' NOT NULL,
	"reported_daemon_status" text,
	"daemon_operating_duration" bigint DEFAULT 0 NOT NULL,
	"daemon_last_start" bigint,
	"warning_message" text DEFAULT '' NOT NULL,
	"security_status" text DEFAULT 'OK' NOT NULL,
	"memory_usage" double precision DEFAULT 0 NOT NULL,
	"disk_usage" double precision DEFAULT 0 NOT NULL,
	"cpu_usage" double precision DEFAULT 0 NOT NULL,
	"memory_violation" bigint DEFAULT 0 NOT NULL,
	"disk_violation" bigint DEFAULT 0 NOT NULL,
	"cpu_violation" bigint DEFAULT 0 NOT NULL,
	"system_available_disk" bigint,
	"system_available_memory" bigint,
	"system_total_cpu" double precision,
	"repository_count" bigint DEFAULT 0 NOT NULL,
	"repository_status" text DEFAULT '[]' NOT NULL,
	"system_time" bigint,
	"last_status_time" bigint,
	"last_command_time" bigint,
	"last_active" bigint,
	"ip_address" text DEFAULT '0.0.0.0' NOT NULL,
	"ip_address_external" text DEFAULT '0.0.0.0' NOT NULL,
	"tunnel_status" text DEFAULT '' NOT NULL,
	"version" text DEFAULT '' NOT NULL,
	"is_ready_to_upgrade" bigint DEFAULT 0 NOT NULL,
	"is_ready_to_rollback" bigint DEFAULT 0 NOT NULL,
	"active_volume_mounts" bigint DEFAULT 0 NOT NULL,
	"volume_mount_last_update" bigint,
	"gps_status" text DEFAULT '' NOT NULL,
	"available_runtimes" text DEFAULT '[]' NOT NULL,
	"runtime_agent_phase" text,
	"control_plane_quiesced" bigint DEFAULT 0 NOT NULL,
	"delete_requested_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "fog_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "fog_change" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"fog_uuid" text NOT NULL,
	"flags" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fog_hal" (
	"fog_uuid" text PRIMARY KEY NOT NULL,
	"hw" text,
	"usb" text,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fog_platform_status" (
	"fog_uuid" text PRIMARY KEY NOT NULL,
	"phase" text NOT NULL,
	"observed_generation" bigint DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_transition_at" bigint NOT NULL,
	"conditions" text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fog_platform_task" (
	"fog_uuid" text PRIMARY KEY NOT NULL,
	"reason" text NOT NULL,
	"spec_generation" bigint NOT NULL,
	"status" text NOT NULL,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"last_error" text,
	"next_attempt_at" bigint,
	"leader_uuid" text,
	"claimed_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fog_provisioning_key" (
	"key_hash" text PRIMARY KEY NOT NULL,
	"fog_uuid" text NOT NULL,
	"expires_at" bigint NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fog_public_key" (
	"fog_uuid" text PRIMARY KEY NOT NULL,
	"public_jwk" text NOT NULL,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fog_tunnel" (
	"fog_uuid" text PRIMARY KEY NOT NULL,
	"username" text DEFAULT '' NOT NULL,
	"password_enc" text DEFAULT '' NOT NULL,
	"host" text DEFAULT '' NOT NULL,
	"remote_port" bigint DEFAULT 0 NOT NULL,
	"local_port" bigint DEFAULT 22 NOT NULL,
	"rsa_key_enc" text DEFAULT '' NOT NULL,
	"closed" bigint DEFAULT 1 NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fog_version_command" (
	"fog_uuid" text PRIMARY KEY NOT NULL,
	"command" text NOT NULL,
	"semver" text,
	"created_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "job_run" (
	"job" text NOT NULL,
	"tick" bigint NOT NULL,
	"owner" text NOT NULL,
	"started_at" bigint NOT NULL,
	"finished_at" bigint,
	"result" text,
	CONSTRAINT "job_run_job_tick_pk" PRIMARY KEY("job","tick")
);
--> statement-breakpoint
CREATE TABLE "microservice" (
	"uuid" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"application_id" bigint NOT NULL,
	"fog_uuid" text,
	"config" text DEFAULT '{}' NOT NULL,
	"annotations" text,
	"images" text DEFAULT '[]' NOT NULL,
	"registry_id" bigint DEFAULT 1 NOT NULL,
	"catalog_item_id" bigint,
	"host_network_mode" bigint DEFAULT 0 NOT NULL,
	"is_privileged" bigint DEFAULT 0 NOT NULL,
	"pid_mode" text DEFAULT '' NOT NULL,
	"ipc_mode" text DEFAULT '' NOT NULL,
	"cpu_set_cpus" text DEFAULT '' NOT NULL,
	"run_as_user" text DEFAULT '' NOT NULL,
	"platform" text DEFAULT '' NOT NULL,
	"runtime" text DEFAULT '' NOT NULL,
	"memory_limit" bigint,
	"log_size" bigint DEFAULT 1 NOT NULL,
	"schedule" bigint DEFAULT 50 NOT NULL,
	"env" text DEFAULT '[]' NOT NULL,
	"extra_hosts" text DEFAULT '[]' NOT NULL,
	"cmd" text DEFAULT '[]' NOT NULL,
	"cdi_devices" text DEFAULT '[]' NOT NULL,
	"cap_add" text DEFAULT '[]' NOT NULL,
	"cap_drop" text DEFAULT '[]' NOT NULL,
	"health_check" text DEFAULT '{}' NOT NULL,
	"ports" text DEFAULT '[]' NOT NULL,
	"volume_mappings" text DEFAULT '[]' NOT NULL,
	"is_router" bigint DEFAULT 0 NOT NULL,
	"is_nats" bigint DEFAULT 0 NOT NULL,
	"nats_access" bigint DEFAULT 0 NOT NULL,
	"nats_rule" text,
	"is_controller" bigint DEFAULT 0 NOT NULL,
	"rebuild" bigint DEFAULT 0 NOT NULL,
	"stopped" bigint DEFAULT 0 NOT NULL,
	"marked_for_delete" bigint DEFAULT 0 NOT NULL,
	"delete_with_cleanup" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "microservice_status" (
	"microservice_uuid" text PRIMARY KEY NOT NULL,
	"status" text DEFAULT 'QUEUED' NOT NULL,
	"percentage" bigint DEFAULT 0 NOT NULL,
	"container_id" text DEFAULT '' NOT NULL,
	"start_time" bigint,
	"operating_duration" bigint DEFAULT 0 NOT NULL,
	"cpu_usage" text DEFAULT '0' NOT NULL,
	"memory_usage" text DEFAULT '0' NOT NULL,
	"ip_address" text DEFAULT '' NOT NULL,
	"health_status" text DEFAULT '' NOT NULL,
	"error_message" text DEFAULT '' NOT NULL,
	"exec_session_ids" text DEFAULT '[]' NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "nats_account" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"public_key" text NOT NULL,
	"jwt" text NOT NULL,
	"seed_secret_name" text NOT NULL,
	"operator_id" bigint NOT NULL,
	"is_system" bigint DEFAULT 0 NOT NULL,
	"is_leaf_system" bigint DEFAULT 0 NOT NULL,
	"application_id" bigint,
	"rule_name" text NOT NULL,
	"revocations" text DEFAULT '{}' NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "nats_account_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "nats_operator" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"public_key" text NOT NULL,
	"jwt" text NOT NULL,
	"seed_secret_name" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "nats_operator_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "nats_rule" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"spec" text NOT NULL,
	"is_predefined" bigint DEFAULT 0 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "nats_user" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"public_key" text NOT NULL,
	"jwt" text NOT NULL,
	"account_id" bigint NOT NULL,
	"microservice_uuid" text,
	"is_bearer" bigint DEFAULT 0 NOT NULL,
	"rule_name" text NOT NULL,
	"creds_secret_name" text,
	"expires_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rbac_role" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"rules" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "rbac_role_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "rbac_role_binding" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role_ref" text NOT NULL,
	"subjects" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "rbac_role_binding_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "reconcile_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"payload" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"processed_at" bigint,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"last_error" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "reconcile_outbox_idempotency_key_unique" UNIQUE("idempotency_key")
);
--> statement-breakpoint
CREATE TABLE "registry" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"is_public" bigint DEFAULT 1 NOT NULL,
	"username" text DEFAULT '' NOT NULL,
	"password_enc" text DEFAULT '' NOT NULL,
	"user_email" text DEFAULT '' NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "secret" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"type" text NOT NULL,
	"data_enc" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "secret_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "service" (
	"name" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"resource" text NOT NULL,
	"target_port" bigint NOT NULL,
	"service_port" bigint,
	"bridge_port" bigint NOT NULL,
	"default_bridge" text DEFAULT 'default-router' NOT NULL,
	"tags" text DEFAULT '[]' NOT NULL,
	"k8s_type" text,
	"service_endpoint" text,
	"provisioning_status" text DEFAULT 'pending' NOT NULL,
	"provisioning_error" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "service_bridge_port_unique" UNIQUE("bridge_port")
);
--> statement-breakpoint
CREATE TABLE "service_account" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"application_id" bigint NOT NULL,
	"role_ref" text NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service_platform_task" (
	"service_name" text PRIMARY KEY NOT NULL,
	"reason" text NOT NULL,
	"fog_uuids" text DEFAULT '[]' NOT NULL,
	"status" text NOT NULL,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"last_error" text,
	"next_attempt_at" bigint,
	"leader_uuid" text,
	"claimed_at" bigint,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "volume_mount" (
	"uuid" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"secret_name" text,
	"config_map_name" text,
	"version" bigint DEFAULT 1 NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	CONSTRAINT "volume_mount_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "volume_mount_fog" (
	"volume_mount_uuid" text NOT NULL,
	"fog_uuid" text NOT NULL,
	CONSTRAINT "volume_mount_fog_volume_mount_uuid_fog_uuid_pk" PRIMARY KEY("volume_mount_uuid","fog_uuid")
);
--> statement-breakpoint
CREATE TABLE "ws_session" (
	"session_id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"target" text NOT NULL,
	"microservice_uuid" text,
	"fog_uuid" text NOT NULL,
	"status" text NOT NULL,
	"user_connected" bigint NOT NULL,
	"agent_connected" bigint NOT NULL,
	"tail_config" text,
	"user_instance" text,
	"agent_instance" text,
	"actor" text,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "auth_code" ADD CONSTRAINT "auth_code_user_id_auth_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."auth_user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_interaction" ADD CONSTRAINT "auth_interaction_user_id_auth_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."auth_user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_login_failure" ADD CONSTRAINT "auth_login_failure_user_id_auth_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."auth_user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_mfa" ADD CONSTRAINT "auth_mfa_user_id_auth_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."auth_user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_password_history" ADD CONSTRAINT "auth_password_history_user_id_auth_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."auth_user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_recovery_code" ADD CONSTRAINT "auth_recovery_code_user_id_auth_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."auth_user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_refresh_token" ADD CONSTRAINT "auth_refresh_token_user_id_auth_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."auth_user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_reset_token" ADD CONSTRAINT "auth_reset_token_user_id_auth_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."auth_user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_user_group" ADD CONSTRAINT "auth_user_group_user_id_auth_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."auth_user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "auth_user_group" ADD CONSTRAINT "auth_user_group_group_id_auth_group_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."auth_group"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fog_change" ADD CONSTRAINT "fog_change_fog_uuid_fog_uuid_fk" FOREIGN KEY ("fog_uuid") REFERENCES "public"."fog"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fog_hal" ADD CONSTRAINT "fog_hal_fog_uuid_fog_uuid_fk" FOREIGN KEY ("fog_uuid") REFERENCES "public"."fog"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fog_platform_status" ADD CONSTRAINT "fog_platform_status_fog_uuid_fog_uuid_fk" FOREIGN KEY ("fog_uuid") REFERENCES "public"."fog"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fog_platform_task" ADD CONSTRAINT "fog_platform_task_fog_uuid_fog_uuid_fk" FOREIGN KEY ("fog_uuid") REFERENCES "public"."fog"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fog_provisioning_key" ADD CONSTRAINT "fog_provisioning_key_fog_uuid_fog_uuid_fk" FOREIGN KEY ("fog_uuid") REFERENCES "public"."fog"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fog_public_key" ADD CONSTRAINT "fog_public_key_fog_uuid_fog_uuid_fk" FOREIGN KEY ("fog_uuid") REFERENCES "public"."fog"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fog_tunnel" ADD CONSTRAINT "fog_tunnel_fog_uuid_fog_uuid_fk" FOREIGN KEY ("fog_uuid") REFERENCES "public"."fog"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fog_version_command" ADD CONSTRAINT "fog_version_command_fog_uuid_fog_uuid_fk" FOREIGN KEY ("fog_uuid") REFERENCES "public"."fog"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "microservice" ADD CONSTRAINT "microservice_application_id_application_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."application"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "microservice" ADD CONSTRAINT "microservice_fog_uuid_fog_uuid_fk" FOREIGN KEY ("fog_uuid") REFERENCES "public"."fog"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "microservice_status" ADD CONSTRAINT "microservice_status_microservice_uuid_microservice_uuid_fk" FOREIGN KEY ("microservice_uuid") REFERENCES "public"."microservice"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "nats_user" ADD CONSTRAINT "nats_user_account_id_nats_account_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."nats_account"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service_account" ADD CONSTRAINT "service_account_application_id_application_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."application"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volume_mount_fog" ADD CONSTRAINT "volume_mount_fog_volume_mount_uuid_volume_mount_uuid_fk" FOREIGN KEY ("volume_mount_uuid") REFERENCES "public"."volume_mount"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volume_mount_fog" ADD CONSTRAINT "volume_mount_fog_fog_uuid_fog_uuid_fk" FOREIGN KEY ("fog_uuid") REFERENCES "public"."fog"("uuid") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "agent_jti_batch_expires_idx" ON "agent_jti_batch" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "audit_event_timestamp_idx" ON "audit_event" USING btree ("timestamp");--> statement-breakpoint
CREATE INDEX "audit_event_resource_idx" ON "audit_event" USING btree ("resource_type","timestamp");--> statement-breakpoint
CREATE UNIQUE INDEX "auth_group_name_uq" ON "auth_group" USING btree ("name");--> statement-breakpoint
CREATE INDEX "auth_login_failure_updated_idx" ON "auth_login_failure" USING btree ("updated_at");--> statement-breakpoint
CREATE INDEX "auth_password_history_user_idx" ON "auth_password_history" USING btree ("user_id","created_at");--> statement-breakpoint
CREATE INDEX "auth_recovery_code_user_idx" ON "auth_recovery_code" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "auth_refresh_token_family_idx" ON "auth_refresh_token" USING btree ("family_id");--> statement-breakpoint
CREATE INDEX "auth_refresh_token_user_idx" ON "auth_refresh_token" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "auth_refresh_token_expires_idx" ON "auth_refresh_token" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "auth_reset_token_user_idx" ON "auth_reset_token" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "auth_user_email_uq" ON "auth_user" USING btree ("email") WHERE deleted_at IS NULL;--> statement-breakpoint
CREATE INDEX "auth_user_group_group_idx" ON "auth_user_group" USING btree ("group_id");--> statement-breakpoint
CREATE INDEX "fog_last_status_idx" ON "fog" USING btree ("last_status_time");--> statement-breakpoint
CREATE INDEX "fog_delete_requested_idx" ON "fog" USING btree ("delete_requested_at") WHERE "delete_requested_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "fog_change_fog_idx" ON "fog_change" USING btree ("fog_uuid","created_at");--> statement-breakpoint
CREATE INDEX "fog_provisioning_key_fog_idx" ON "fog_provisioning_key" USING btree ("fog_uuid");--> statement-breakpoint
CREATE UNIQUE INDEX "microservice_app_name_uq" ON "microservice" USING btree ("application_id","name");--> statement-breakpoint
CREATE INDEX "microservice_fog_idx" ON "microservice" USING btree ("fog_uuid");--> statement-breakpoint
CREATE UNIQUE INDEX "nats_rule_kind_name_uq" ON "nats_rule" USING btree ("kind","name");--> statement-breakpoint
CREATE UNIQUE INDEX "nats_user_account_name_uq" ON "nats_user" USING btree ("account_id","name");--> statement-breakpoint
CREATE INDEX "nats_user_ms_idx" ON "nats_user" USING btree ("microservice_uuid");--> statement-breakpoint
CREATE UNIQUE INDEX "service_account_app_name_idx" ON "service_account" USING btree ("application_id","name");--> statement-breakpoint
CREATE INDEX "volume_mount_fog_fog_idx" ON "volume_mount_fog" USING btree ("fog_uuid");--> statement-breakpoint
CREATE INDEX "ws_session_ms_idx" ON "ws_session" USING btree ("kind","microservice_uuid");--> statement-breakpoint
CREATE INDEX "ws_session_fog_idx" ON "ws_session" USING btree ("fog_uuid","kind");