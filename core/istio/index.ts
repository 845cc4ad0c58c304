/**
 * @module istio
 * Istio security manifests from the mesh inventory and observed traffic: streaming traffic
 * parsers, deterministic generation of the phased rollout, validation (CRD schema + CEL + Istio's
 * rules), a policy tester with Istio's evaluation order, replay of observed traffic, and the
 * payload of an `istio-manifests` transfer bundle. The public surface other domains use.
 *
 * Must never: be imported for side effects (nothing runs at import time).
 */
export { TrafficAggregate, compareTuples, type CollapsedOperation } from './aggregate.ts';
export { prepareCacerts, containsPrivateKey, CACERTS_KEYS, type CacertsInput, type CacertsMaterial, type CertSummary } from './cacerts.ts';
export { compileCel, parseDuration, CelError, type CelProgram } from './cel.ts';
export { defaultConfig, parseConfig, type IstioConfig } from './config.ts';
export { CrdSchemaSet, type SchemaFinding } from './crd-schema.ts';
export { PolicySet, type Decision, type PolicyRequest } from './evaluate.ts';
export { parseExceptions, parseExpiry, type MtlsException } from './exceptions.ts';
export { istioBundlePayload, istioManifestsValidator, mediaTypeOf, validatePayloadFiles, ISTIO_BUNDLE_KIND, MAX_PAYLOAD_YAML_BYTES, type BundlePayloadFile } from './export.ts';
export { generate, operationsFor, resourceName, PHASES, type Finding, type GenerateInput, type Generated, type Phase, type Resource } from './generate.ts';
export { InventoryBuilder, MeshIndex, parseInventory, selects, isHttpServicePort, type InventoryParseNotes, type WorkloadSelector } from './inventory.ts';
export { finalState, loadCrds, loadManifests, locateCrds, openStream, readGeneratedTree, readTextFile, writeTree, type CrdLocation } from './io.ts';
export { readLineBatches, readLines, type Line } from './lines.ts';
export type { ContainerPort, EvidenceTuple, Inventory, MalformedRecord, Namespace, ObservedProtocol, ObservedRequest, Service, ServicePort, TrafficFileStats, TrafficStats, Workload } from './model.ts';
export { compileIdPatterns, generalisePath, matchPath, matchString, normalisePath, type GeneraliseOptions } from './paths.ts';
export { generateRollout, loadConfig, loadInventory, replayTraffic, testCases, validateGenerated, validateRendered, type CrdContext, type GenerateFiles, type GenerateOutcome } from './pipeline.ts';
export { parseCases, runCases, type CaseResult, type PolicyCase } from './policy-test.ts';
export { parsePrometheusSample, scanPrometheusJson, type ScannedSample } from './prometheus.ts';
export { parseEnvoyLine, PEER_KEYS, type LineVerdict } from './envoy-log.ts';
export { renderFiles, renderManifestFiles, renderYaml, stableJson, type OutputFile, type RenderInput } from './render.ts';
export { Replayer, type DeniedGroup, type ReplayResult } from './replay.ts';
export { parseSpiffeId, resolveDestination, resolvePeer, type DestinationHints, type Identity } from './resolve.ts';
export { TrafficReader, type TrafficSource } from './traffic.ts';
export { countFindings, crossDocFindings, formatFinding, identityOf, validateDocuments, type ManifestDoc, type ValidationFinding } from './validate.ts';
