// The artifact description the build writes from the Python package (`vibevoice-asr-web
// describe-artifact`, Bazel's //web:artifact_description); esbuild resolves this module to that
// JSON file (web/artifact_description.mjs). Its shape is checked when the library loads (artifact.ts).
declare module 'vibevoice:artifact-description' {
  const description: unknown;
  export default description;
}
