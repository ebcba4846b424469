{{/*
Names, labels, the merged per-service values and the rendered service config.
Templates that loop over services call `pdop.service` to get one service's settings:
serviceDefaults deep-merged with services.<name>.
*/}}

{{/* The chart name, honouring nameOverride. */}}
{{- define "pdop.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release-wide prefix of resource names. */}}
{{- define "pdop.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Chart name and version for the helm.sh/chart label. */}}
{{- define "pdop.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The resource name of one service: (dict "root" $ "name" "registry") -> <fullname>-registry. */}}
{{- define "pdop.componentName" -}}
{{- printf "%s-%s" (include "pdop.fullname" .root | trunc 50 | trimSuffix "-") .name -}}
{{- end -}}

{{/* Selector labels: only name, instance and component; they never change after install. */}}
{{- define "pdop.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pdop.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{/* Standard labels of every object of one component. */}}
{{- define "pdop.labels" -}}
{{ include "pdop.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: pdop
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "pdop.chart" .root }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* One service's values: serviceDefaults deep-merged with services.<name>, as YAML (use with fromYaml). */}}
{{- define "pdop.service" -}}
{{- $defaults := deepCopy .root.Values.serviceDefaults -}}
{{- $own := deepCopy (index .root.Values.services .name) -}}
{{- toYaml (mustMergeOverwrite $defaults $own) -}}
{{- end -}}

{{/* The fully qualified gRPC service name the readiness probe asks for: pdop.registry.v1.RegistryService. */}}
{{- define "pdop.grpcServiceName" -}}
{{- printf "pdop.%s.v1.%sService" . (title .) -}}
{{- end -}}

{{/* The Secret the chart creates for inline credentials. */}}
{{- define "pdop.secretName" -}}
{{- printf "%s-credentials" (include "pdop.fullname" .) -}}
{{- end -}}

{{/* Copies a map with camelCase keys into one with snake_case keys, recursively; renders YAML. */}}
{{- define "pdop.snakeKeys" -}}
{{- $out := dict -}}
{{- range $key, $value := . -}}
{{- if kindIs "map" $value -}}
{{- $_ := set $out (snakecase $key) (include "pdop.snakeKeys" $value | fromYaml) -}}
{{- else -}}
{{- $_ := set $out (snakecase $key) $value -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
The service's YAML config (the file passed with --config): the camelCase `config` layer turned into
snake_case, then the keys the chart owns. Secrets never appear here; they arrive as environment variables.
Arguments: (dict "root" $ "name" "registry" "svc" <merged service values>).
*/}}
{{- define "pdop.configYaml" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- $svc := .svc -}}
{{- $config := include "pdop.snakeKeys" (default dict $svc.config) | fromYaml -}}
{{- $owned := dict
  "grpc" (dict "addr" (printf "0.0.0.0:%v" $svc.ports.grpc))
  "admin" (dict "addr" (printf "0.0.0.0:%v" $svc.ports.admin))
  "database" (dict "url" (printf "postgres://%s:%v/%s%s" $v.postgresql.host $v.postgresql.port $v.postgresql.databasePrefix .name))
  "nats" (dict "url" $v.nats.url "namespace" $v.nats.namespace "tls_required" $v.nats.tlsRequired)
  "telemetry" (dict "otlp_endpoint" $v.telemetry.otlpEndpoint)
  "auth" (dict "issuer" $v.auth.issuer "audience" $v.auth.audience "ed25519_public_keys" (values $v.auth.ed25519PublicKeys | sortAlpha) "dev_mode" $v.auth.devMode)
-}}
{{- if $v.nats.credentialsSecret.name -}}
{{- $_ := set $owned.nats "credentials_file" (printf "/etc/pdop/nats/%s" $v.nats.credentialsSecret.key) -}}
{{- end -}}
{{- if $v.auth.publicKeysSecret.name -}}
{{- $_ := set $owned.auth "ed25519_public_keys_file" (printf "/etc/pdop/jwt/%s" $v.auth.publicKeysSecret.key) -}}
{{- end -}}
{{- if $svc.ports.http -}}
{{- $_ := set $owned .name (dict "http_addr" (printf "0.0.0.0:%v" $svc.ports.http)) -}}
{{- end -}}
{{- toYaml (mustMergeOverwrite $config $owned) -}}
{{- end -}}

{{/* The image reference of a merged service (or of anything with an `image`): repository:tag, and @digest
when a digest is set, so that a moved tag cannot change what runs (THREATS L8). */}}
{{- define "pdop.image" -}}
{{- printf "%s:%s" .image.repository (toString .image.tag) -}}
{{- with .image.digest }}@{{ . }}{{ end -}}
{{- end -}}

{{/*
The PromQL label matchers of this release's series, as the Prometheus Operator labels them when it scrapes the
ServiceMonitors: the namespace and a job per enabled service (the job is the Service's name).
*/}}
{{- define "pdop.metricsSelector" -}}
{{- $jobs := list -}}
{{- range $name, $_ := .Values.services -}}
{{- $svc := include "pdop.service" (dict "root" $ "name" $name) | fromYaml -}}
{{- if $svc.enabled -}}
{{- $jobs = append $jobs (include "pdop.componentName" (dict "root" $ "name" $name)) -}}
{{- end -}}
{{- end -}}
namespace="{{ .Release.Namespace }}",job=~"{{ join "|" $jobs }}"
{{- end -}}

