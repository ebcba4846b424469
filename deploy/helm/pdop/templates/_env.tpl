{{/*
The container's environment: PostgreSQL credentials (read by the driver as PGUSER/PGPASSWORD, so the URL in
the ConfigMap carries none), secrets as PDOP_<SECTION>__<KEY> variables, and the extra `env` map.
Arguments: (dict "root" $ "name" "registry" "svc" <merged service values>).
*/}}
{{- define "pdop.env" -}}
{{- $v := .root.Values -}}
{{- $pg := $v.postgresql.auth -}}
{{- $chartSecret := include "pdop.secretName" .root -}}
- name: PGUSER
{{- if and $pg.existingSecret $pg.usernameKey }}
  valueFrom:
    secretKeyRef:
      name: {{ $pg.existingSecret }}
      key: {{ $pg.usernameKey }}
{{- else }}
  value: {{ $pg.username | quote }}
{{- end }}
{{- if or $pg.existingSecret $pg.password }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $pg.existingSecret | default $chartSecret }}
      key: {{ ternary $pg.passwordKey "postgresql-password" (ne $pg.existingSecret "") }}
{{- end }}
{{- $signing := $v.disclosureSigningKey }}
{{- if and (eq .name "disclosure") (or $signing.existingSecret $signing.value) }}
- name: PDOP_DISCLOSURE__SIGNING_KEY
  valueFrom:
    secretKeyRef:
      name: {{ $signing.existingSecret | default $chartSecret }}
      key: {{ ternary $signing.key "disclosure-signing-key" (ne $signing.existingSecret "") }}
{{- end }}
{{- $dev := $v.auth.devSecret }}
{{- if and $v.auth.devMode (or $dev.existingSecret $dev.value) }}
- name: PDOP_AUTH__DEV_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ $dev.existingSecret | default $chartSecret }}
      key: {{ ternary $dev.key "auth-dev-secret" (ne $dev.existingSecret "") }}
{{- end }}
{{- if $v.nats.caSecret.name }}
- name: SSL_CERT_FILE
  value: {{ printf "/etc/pdop/nats-ca/%s" $v.nats.caSecret.key | quote }}
{{- end }}
{{- range $key, $value := .svc.env }}
- name: {{ $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}
