{{/* What each service is: its port, command, schema and the names of its settings. */}}
{{- define "ferry.services" -}}
release: {port: 8001, prefix: RELEASE, schema: release, command: ferry-release-svc}
dml: {port: 8002, prefix: DML, schema: dml, command: ferry-dml-svc}
deploy: {port: 8003, prefix: DEPLOY, schema: deploy, command: ferry-deploy-svc}
els: {port: 8004, prefix: ELS, schema: els, command: ferry-els-svc}
{{- end }}

{{/* The image reference: by digest when one is given, else by tag. */}}
{{- define "ferry.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}

{{- define "ferry.labels" -}}
app.kubernetes.io/part-of: ferry
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* A service's selector labels: ferry.selector (dict "name" "release-svc" "component" "api")
(app.kubernetes.io/part-of is among ferry.labels, which every object has). */}}
{{- define "ferry.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The pods' and containers' security settings every workload shares. */}}
{{- define "ferry.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "ferry.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* The migrate Job's name: the service, its schema revision and a hash of the image, so
that applying a release again finds its own Job and a new release (or image) makes a new one. */}}
{{- define "ferry.migrateJobName" -}}
{{- $revisions := .root.Files.Get "files/schema-revisions.yaml" | fromYaml -}}
{{- $image := include "ferry.image" .root -}}
{{- printf "%s-svc-migrate-%s-%s" .short (get $revisions .short) (sha256sum $image | trunc 8) -}}
{{- end }}

{{/* NetworkPolicy egress rules to `to` (peers; empty: any address) on `ports`. */}}
{{- define "ferry.egress" -}}
- ports:
  {{- range .ports }}
    - protocol: TCP
      port: {{ . }}
  {{- end }}
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}

{{/* The egress rule to DNS every Ferry pod needs, to networkPolicy.egress.dns.to. */}}
{{- define "ferry.dnsEgress" -}}
- ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
  {{- with .Values.networkPolicy.egress.dns.to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
