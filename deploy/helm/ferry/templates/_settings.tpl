{{/* The settings the chart itself writes; operators' own (extraSettings, services.*.settings)
may not repeat one of them (configmaps.yaml fails the render): the chart's value would be
duplicated, and which one a pod sees would depend on the order of its envFrom. */}}
{{- define "ferry.sharedSettings" -}}
FERRY_HOST: "0.0.0.0"
FERRY_KAFKA_BOOTSTRAP_SERVERS: {{ .Values.kafka.bootstrapServers | quote }}
FERRY_KAFKA_SECURITY_PROTOCOL: SASL_SSL
FERRY_KAFKA_SASL_MECHANISM: SCRAM-SHA-512
FERRY_KAFKA_CA_FILE: /var/run/secrets/ferry/kafka-ca/ca.crt
# Migrations run as their own step: the migrate Jobs.
FERRY_MIGRATE_ON_START: "false"
FERRY_LOG_LEVEL: {{ .Values.logLevel | quote }}
FERRY_DB_POOL_SIZE: {{ .Values.database.poolSize | quote }}
FERRY_EVENT_TRUSTED_KEYS_FILE: /etc/ferry/event-trust/trusted.json
{{- end }}

{{- define "ferry.authSettings" -}}
FERRY_AUTH_ISSUER: {{ .Values.auth.issuer | quote }}
{{- if .Values.auth.jwksFile }}
FERRY_AUTH_JWKS_FILE: {{ .Values.auth.jwksFile | quote }}
{{- else }}
FERRY_AUTH_JWKS_URL: {{ required "auth.jwksUrl or auth.jwksFile is needed" .Values.auth.jwksUrl | quote }}
{{- end }}
FERRY_AUTH_AUDIENCE: {{ .Values.auth.audience | quote }}
FERRY_AUTH_ROLES_CLAIM: {{ .Values.auth.rolesClaim | quote }}
FERRY_AUTH_ROLE_MAP: {{ .Values.auth.roleMap | toJson | quote }}
{{- end }}

{{/* ferry.serviceSettings (dict "root" $ "short" "release") */}}
{{- define "ferry.serviceSettings" -}}
{{- $svc := get (include "ferry.services" .root | fromYaml) .short }}
{{- $values := get .root.Values.services .short }}
FERRY_{{ $svc.prefix }}_PORT: {{ $svc.port | quote }}
FERRY_{{ $svc.prefix }}_DB_SCHEMA: {{ $svc.schema }}
FERRY_EVENT_SIGNING_KEY_FILE: /var/run/secrets/ferry/event-signing/event-key.pem
FERRY_KAFKA_USERNAME: ferry-{{ .short }}-svc
FERRY_KAFKA_PASSWORD_FILE: /var/run/secrets/ferry/kafka-user/password
{{- if eq .short "release" }}
{{- with $values.notifications }}
{{- if .smtpHost }}
FERRY_SMTP_HOST: {{ .smtpHost | quote }}
{{- end }}
FERRY_SMTP_PORT: {{ .smtpPort | quote }}
FERRY_SMTP_FROM: {{ .smtpFrom | quote }}
FERRY_SMTP_STARTTLS: {{ .smtpStartTLS | quote }}
{{- end }}
{{- end }}
{{- if eq .short "dml" }}
FERRY_DML_MEDIA_DIR: /var/lib/ferry/dml
FERRY_DML_SIGNING_KEY_FILE: /var/run/secrets/ferry/dml-signing/signing-key.pem
{{- end }}
{{- if eq .short "deploy" }}
FERRY_DEPLOY_DML_URL: http://dml-svc:8002
FERRY_DEPLOY_DML_TOKEN_FILE: /var/run/secrets/ferry/dml-token/token
FERRY_DEPLOY_WORK_DIR: /var/lib/ferry/deploy-work
FERRY_DEPLOY_PUBLIC_URL: {{ $values.publicUrl | quote }}
FERRY_DEPLOY_DRIVERS: {{ $values.drivers | toJson | quote }}
FERRY_DEPLOY_URL_PREFIXES: {{ $values.urlPrefixes | toJson | quote }}
FERRY_DEPLOY_K8S_NAMESPACES: {{ $values.kubernetes.namespaces | toJson | quote }}
FERRY_DEPLOY_K8S_DEPLOYMENTS: {{ $values.kubernetes.deployments | toJson | quote }}
FERRY_DEPLOY_K8S_IMAGE_PREFIXES: {{ $values.kubernetes.imagePrefixes | toJson | quote }}
{{- end }}
{{- end }}
