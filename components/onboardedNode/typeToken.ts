/**
 * The resource token of the OnboardedNode component, also served by the provider plugin's construct
 * (Pulumi YAML and generated SDKs). A module of its own so that the plugin knows the token without
 * loading the component (and the whole SDK with it) until a program asks it to construct one.
 */
export const ONBOARDED_NODE_TYPE = "aios-onboarding:index:OnboardedNode";
