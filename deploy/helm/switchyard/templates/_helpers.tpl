{{- define "switchyard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "switchyard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "switchyard.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "switchyard.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "switchyard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchyard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "switchyard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "switchyard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "switchyard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "switchyard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret whose keys become the gateway's environment; empty when there is none. */}}
{{- define "switchyard.secretName" -}}
{{- if .Values.secrets.existingSecret -}}
{{- .Values.secrets.existingSecret -}}
{{- else if .Values.secrets.env -}}
{{- include "switchyard.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* The operator's policy: policy.content, or the chart's copy of deploy/policy.yaml. */}}
{{- define "switchyard.policySource" -}}
{{- .Values.policy.content | default (.Files.Get "files/policy.yaml") -}}
{{- end -}}

{{/*
The policy file as mounted: the operator's, with the chart's ledger line appended when
ledger.postgres is on and the policy has no `ledger:` section. The text is otherwise kept byte
for byte, so the gateway's FILE:LINE diagnostics point at lines the operator wrote.
*/}}
{{- define "switchyard.policyText" -}}
{{- $text := include "switchyard.policySource" . -}}
{{- $doc := fromYaml $text -}}
{{- if and .Values.ledger.postgres.enabled (not (hasKey $doc "ledger")) -}}
{{- printf "%s\n\n# Added by the Helm chart (ledger.postgres.enabled): replicas share keys, budgets and records.\nledger: {postgres_url_env: %s}\n" (trimSuffix "\n" $text) .Values.ledger.postgres.urlEnv -}}
{{- else -}}
{{- $text -}}
{{- end -}}
{{- end -}}

{{/* Where the policy keeps the ledger: sqlite, postgres or off. */}}
{{- define "switchyard.ledgerKind" -}}
{{- $ledger := (fromYaml (include "switchyard.policyText" .)).ledger | default dict -}}
{{- if and (hasKey $ledger "enabled") (not $ledger.enabled) -}}off
{{- else if $ledger.postgres_url_env -}}postgres
{{- else -}}sqlite
{{- end -}}
{{- end -}}

{{/* The most gateway pods there can be at once (before a rollout's surge). */}}
{{- define "switchyard.maxReplicas" -}}
{{- if .Values.autoscaling.enabled -}}{{ int .Values.autoscaling.maxReplicas }}{{- else -}}{{ int .Values.replicaCount }}{{- end -}}
{{- end -}}

{{/* The SQLite ledger on a claim: one pod at a time may hold it. */}}
{{- define "switchyard.sqliteClaim" -}}
{{- if and .Values.persistence.enabled (eq (include "switchyard.ledgerKind" .) "sqlite") -}}true{{- end -}}
{{- end -}}

{{/*
Settings that refuse to render, each with what to do instead. Included by the Deployment, so
that every render checks them.
*/}}
{{- define "switchyard.checks" -}}
{{- $text := include "switchyard.policySource" . -}}
{{- if not $text -}}
{{- fail "switchyard: no policy: set policy.content (e.g. --set-file policy.content=my-policy.yaml)" -}}
{{- end -}}
{{- $doc := fromYaml $text -}}
{{- if or (hasKey $doc "Error") (not (hasKey $doc "models")) -}}
{{- fail (printf "switchyard: policy.content is not a policy (a YAML mapping with `models:`): %s" ($doc.Error | default "no `models:` key")) -}}
{{- end -}}
{{- if hasKey .Values.policy.files "policy.yaml" -}}
{{- fail "switchyard: policy.files may not hold policy.yaml: set policy.content instead" -}}
{{- end -}}
{{- if and .Values.secrets.existingSecret .Values.secrets.env -}}
{{- fail "switchyard: set secrets.existingSecret or secrets.env, not both (the pods would read only the existing Secret)" -}}
{{- end -}}
{{- $kind := include "switchyard.ledgerKind" . -}}
{{- $urlEnv := .Values.ledger.postgres.urlEnv -}}
{{- if .Values.ledger.postgres.enabled -}}
  {{- $named := (fromYaml (include "switchyard.policyText" .)).ledger.postgres_url_env -}}
  {{- if ne $kind "postgres" -}}
  {{- fail (printf "switchyard: ledger.postgres.enabled is true, but the policy's own `ledger:` section keeps the ledger elsewhere (%s): remove that section or make it `ledger: {postgres_url_env: %s}`" $kind $urlEnv) -}}
  {{- else if ne $named $urlEnv -}}
  {{- fail (printf "switchyard: the policy reads the PostgreSQL URL from %s but ledger.postgres.urlEnv is %s: make them the same" $named $urlEnv) -}}
  {{- end -}}
  {{- if and (not .Values.secrets.existingSecret) (not (hasKey .Values.secrets.env $urlEnv)) -}}
  {{- fail (printf "switchyard: ledger.postgres.enabled needs the database URL in the Secret under %s: set secrets.existingSecret to a Secret holding it, or secrets.env.%s" $urlEnv $urlEnv) -}}
  {{- end -}}
{{- else if eq $kind "postgres" -}}
  {{- fail (printf "switchyard: the policy keeps the ledger in PostgreSQL (ledger.postgres_url_env: %s): set ledger.postgres.enabled=true and ledger.postgres.urlEnv=%s, with the URL in the Secret" $doc.ledger.postgres_url_env $doc.ledger.postgres_url_env) -}}
{{- end -}}
{{- $max := int (include "switchyard.maxReplicas" .) -}}
{{- if and (gt $max 1) (eq $kind "sqlite") -}}
{{- fail (printf "switchyard: %d replicas need the PostgreSQL ledger. With SQLite each replica keeps its own API keys, budgets and records: a key made on one is refused by the others, and every replica spends a budget in full. Set ledger.postgres.enabled=true with the URL in the Secret (the chart's ci/postgres-values.yaml shows how), or run one replica." $max) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) -}}
{{- fail "switchyard: autoscaling.minReplicas is larger than autoscaling.maxReplicas" -}}
{{- end -}}
{{- $auth := (($doc.auth | default dict).mode | default "off") | toString -}}
{{- if and (eq $auth "off") (not .Values.allowUnauthenticated) -}}
{{- fail "switchyard: the policy's auth.mode is off (the default), and the gateway refuses to listen beyond loopback with it: anyone reaching the Service could spend the cloud budget. Set `auth: {mode: required}` in the policy, or allowUnauthenticated=true if something in front of the gateway authenticates callers" -}}
{{- end -}}
{{- if eq .Values.engine.mode "external" -}}
  {{- range $name, $model := $doc.models -}}
  {{- if eq (toString $model.kind) "local" -}}
  {{- fail (printf "switchyard: engine.mode is external, but the policy's model %q is kind: local (an engine in the pod): serve the on-prem engine as `kind: openai` with its base_url instead" $name) -}}
  {{- end -}}
  {{- end -}}
{{- end -}}
{{- end -}}

{{/*
A digest of what the gateway reads only at start-up (the policy's `server:` and `ledger:`
sections and its local model): when it changes, the pods roll; any other policy change is
reloaded in place.
*/}}
{{- define "switchyard.startupDigest" -}}
{{- $doc := fromYaml (include "switchyard.policyText" .) -}}
{{- $local := dict -}}
{{- range $name, $model := $doc.models -}}
{{- if eq (toString $model.kind) "local" -}}{{- $_ := set $local $name $model -}}{{- end -}}
{{- end -}}
{{- dict "server" $doc.server "ledger" $doc.ledger "local" $local | toJson | sha256sum -}}
{{- end -}}
